#!/usr/bin/env bash
# A single-node OpenStack Swift with the S3 API (s3api), for tests and development.
#
#   infra/swift.sh start   start memcached and the four Swift servers (idempotent)
#   infra/swift.sh stop    stop what `start` started (pid files)
#   infra/swift.sh status  say whether the proxy answers its health check
#   infra/swift.sh env     print the RELAY_S3_* exports that point Relay at it
#
# Config, rings, device folder, logs and pid files live under
# ${RELAY_SWIFT_DIR:-/var/tmp/relay-swift}; the device folder needs extended attributes.
set -euo pipefail

PORT="${RELAY_SWIFT_PORT:-18080}"
MEMCACHED_PORT="${RELAY_MEMCACHED_PORT:-11311}"
OBJECT_PORT=16010
CONTAINER_PORT=16011
ACCOUNT_PORT=16012
ENDPOINT="http://127.0.0.1:${PORT}"
PACKAGES=(swift swift-proxy swift-object swift-account swift-container memcached)
SERVERS=(object container account proxy)
# Swift lives in Debian's system site-packages: keep any virtualenv out of its way.
SYS_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Swift reads swift.conf from /etc/swift whatever `swift_dir` says; point it at ours
# (and reload the storage policies it read at import), then run the server script.
LAUNCHER='
import runpy, sys
from swift.common import storage_policy, utils
utils.set_swift_dir(sys.argv[1])
storage_policy.reload_storage_policies()
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
'

log() { printf 'swift.sh: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

syspy() { env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME PATH="$SYS_PATH" /usr/bin/python3 "$@"; }
sysbin() { PATH="$SYS_PATH" command -v "$1"; }

healthy() {
	[[ "$(curl -fs --max-time 2 "${ENDPOINT}/healthcheck" 2>/dev/null || true)" == "OK" ]]
}

supports_xattr() {
	mkdir -p "$1" 2>/dev/null || return 1
	syspy - "$1" >/dev/null 2>&1 <<'EOF'
import os, sys, tempfile
with tempfile.NamedTemporaryFile(dir=sys.argv[1]) as f:
    os.setxattr(f.name, "user.relay-swift", b"1")
    assert os.getxattr(f.name, "user.relay-swift") == b"1"
EOF
}

resolve_dir() {
	if [[ -n "${RELAY_SWIFT_DIR:-}" ]]; then
		supports_xattr "$RELAY_SWIFT_DIR" ||
			die "RELAY_SWIFT_DIR=$RELAY_SWIFT_DIR is not writable or lacks extended attributes"
		DIR="$RELAY_SWIFT_DIR"
		return
	fi
	local candidate
	for candidate in /var/tmp/relay-swift "${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/relay-swift" \
		"${SCRIPT_DIR}/../var/relay-swift"; do
		if supports_xattr "$candidate"; then
			DIR="$(cd "$candidate" && pwd)"
			return
		fi
		log "$candidate lacks extended attributes; trying the next folder"
	done
	die "no folder with extended attributes found; set RELAY_SWIFT_DIR"
}

ensure_packages() {
	local bin missing=0
	for bin in swift-ring-builder swift-object-server swift-container-server \
		swift-account-server swift-proxy-server memcached; do
		sysbin "$bin" >/dev/null || missing=1
	done
	[[ "$missing" == 0 ]] && return 0
	local line="DEBIAN_FRONTEND=noninteractive apt-get install -y ${PACKAGES[*]}"
	if [[ "$(id -u)" != 0 ]]; then
		log "Swift is not installed; as root, run:"
		echo "$line"
		exit 1
	fi
	log "installing: $line"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"; then
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
	fi
}

write_configs() {
	local user
	user="$(id -un)"
	cat >"$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = relay-swift-suffix
swift_hash_path_prefix = relay-swift-prefix

[storage-policy:0]
name = Policy-0
default = yes
EOF
	local name port
	for name in object container account; do
		case "$name" in
		object) port="$OBJECT_PORT" ;;
		container) port="$CONTAINER_PORT" ;;
		account) port="$ACCOUNT_PORT" ;;
		esac
		cat >"$ETC/${name}-server.conf" <<EOF
[DEFAULT]
devices = ${DIR}/devices
mount_check = false
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${user}
swift_dir = ${ETC}
log_name = ${name}-server

[pipeline:main]
pipeline = ${name}-server

[app:${name}-server]
use = egg:swift#${name}
EOF
	done
	# s3api and slo default to 1000 parts; AWS allows 10,000.
	cat >"$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${PORT}
workers = 0
user = ${user}
swift_dir = ${ETC}
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${MEMCACHED_PORT}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:dlo]
use = egg:swift#dlo
EOF
}

build_rings() {
	local name port builder
	for name in object container account; do
		[[ -f "$ETC/${name}.ring.gz" ]] && continue
		case "$name" in
		object) port="$OBJECT_PORT" ;;
		container) port="$CONTAINER_PORT" ;;
		account) port="$ACCOUNT_PORT" ;;
		esac
		builder="$(sysbin swift-ring-builder)"
		rm -f "$ETC/${name}.builder"
		syspy "$builder" "$ETC/${name}.builder" create 10 1 1 >/dev/null
		syspy "$builder" "$ETC/${name}.builder" add "r1z1-127.0.0.1:${port}/d1" 1 >/dev/null
		# rebalance exits 1 for mere warnings; the ring file is what counts.
		syspy "$builder" "$ETC/${name}.builder" rebalance >/dev/null || true
		[[ -f "$ETC/${name}.ring.gz" ]] || die "could not build the $name ring"
	done
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

memcached_up() { port_open "$MEMCACHED_PORT"; }

start_memcached() {
	memcached_up && return 0
	"$(sysbin memcached)" -d -u "$(id -un)" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 \
		-P "$RUN/memcached.pid" 9>&-
	local _
	for _ in $(seq 50); do
		memcached_up && return 0
		sleep 0.1
	done
	die "memcached did not start on 127.0.0.1:${MEMCACHED_PORT}"
}

# The pid in a pid file, when that process is still one of ours.
live_pid() {
	local file="$RUN/$1.pid" pid
	[[ -f "$file" ]] || return 1
	pid="$(cat "$file")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	grep -qa -e swift -e memcached "/proc/${pid}/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

stop_one() {
	local name=$1 pid _
	if pid="$(live_pid "$name")"; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN/$name.pid"
}

launch() {
	local name=$1 bin
	bin="$(sysbin "swift-${name}-server")"
	setsid env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME PATH="$SYS_PATH" \
		/usr/bin/python3 -c "$LAUNCHER" "$ETC" "$bin" "$ETC/${name}-server.conf" --verbose \
		</dev/null >>"$LOGS/${name}.log" 2>&1 9>&- &
	echo "$!" >"$RUN/${name}.pid"
}

fail_start() {
	log "$1"
	print_logs
	local name
	for name in "${SERVERS[@]}"; do
		stop_one "$name"
	done
	exit 1
}

print_logs() {
	local name
	for name in "${SERVERS[@]}"; do
		[[ -f "$LOGS/${name}.log" ]] || continue
		echo "----- $LOGS/${name}.log" >&2
		tail -n 25 "$LOGS/${name}.log" >&2
	done
}

set_paths() {
	resolve_dir
	ETC="$DIR/etc"
	RUN="$DIR/run"
	LOGS="$DIR/logs"
	mkdir -p "$ETC" "$RUN" "$LOGS" "$DIR/devices/d1"
}

cmd_start() {
	if healthy; then
		log "already running at ${ENDPOINT}"
		return 0
	fi
	ensure_packages
	set_paths
	# Two test sessions may start it at once: one does the work, the other waits.
	exec 9>"$DIR/start.lock"
	flock -w 90 9 || die "timed out waiting for $DIR/start.lock"
	if healthy; then
		log "already running at ${ENDPOINT}"
		return 0
	fi
	local name
	for name in "${SERVERS[@]}"; do
		stop_one "$name"
	done
	# Swift listens with SO_REUSEPORT: a second server on a busy port would bind anyway
	# and take half of the requests.
	local port
	for port in "$OBJECT_PORT" "$CONTAINER_PORT" "$ACCOUNT_PORT" "$PORT"; do
		if port_open "$port"; then
			die "127.0.0.1:${port} is taken by a process not started from ${DIR} (ss -ltnp 'sport = :${port}')"
		fi
	done
	write_configs
	build_rings
	start_memcached
	for name in "${SERVERS[@]}"; do
		launch "$name"
	done
	local _
	for _ in $(seq 60); do
		if healthy; then
			log "running at ${ENDPOINT} (files in ${DIR})"
			return 0
		fi
		for name in "${SERVERS[@]}"; do
			live_pid "$name" >/dev/null || fail_start "swift-${name}-server exited"
		done
		sleep 0.5
	done
	fail_start "no health check answer from ${ENDPOINT} after 30 s"
}

cmd_stop() {
	set_paths
	exec 9>"$DIR/start.lock"
	flock -w 90 9 || die "timed out waiting for $DIR/start.lock"
	local name
	for name in proxy object container account memcached; do
		stop_one "$name"
	done
	log "stopped"
}

cmd_env() {
	cat <<EOF
export RELAY_STORAGE=s3
export RELAY_S3_ENDPOINT_URL=${ENDPOINT}
export RELAY_S3_ACCESS_KEY=test:tester
export RELAY_S3_SECRET_KEY=testing
export RELAY_S3_REGION=us-east-1
export RELAY_S3_ADDRESSING=path
EOF
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
env) cmd_env ;;
status)
	if healthy; then echo "running at ${ENDPOINT}"; else
		echo "not running"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
