"""The deployment files, checked offline (no container engine here): the Kubernetes
manifests against the API's schemas (kubernetes-validate), every command in them against
Relay's own CLI and every variable against the settings Relay reads; the systemd units with
`systemd-analyze verify`; infra/nginx.conf with `nginx -t`; the Compose file against the
Compose specification's schema (the copy check-jsonschema ships), with the same checks of
commands and variables, its start order, health checks and secrets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from relay.cli import _parser
from relay.settings import Settings
from tests.support.server import ROOT
from tests.test_settings import variables_in_source

DEPLOY = ROOT / "infra" / "deploy"
COMPOSE = DEPLOY / "compose"
KUBERNETES = "1.30.0"
# `${NAME}`, `${NAME:-default}`, `${NAME:?error}`: Compose fills them in from .env (`$$NAME`
# is left to the container's shell).
INTERPOLATION = re.compile(r"(?<!\$)\$\{(\w+)[^}]*\}")
# Uvicorn's own variable: whose X-Forwarded-For `relay serve` trusts.
UVICORN_VARIABLES = {"FORWARDED_ALLOW_IPS"}


def manifests() -> list[dict]:
    text = (DEPLOY / "kubernetes" / "relay.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_kubernetes_manifests_match_the_api_schemas() -> None:
    docs = manifests()
    assert {d["kind"] for d in docs} >= {
        "ConfigMap",
        "Deployment",
        "Job",
        "Service",
        "Ingress",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_kubernetes_commands_and_variables_are_relays_own() -> None:
    known = variables_in_source()
    kinds = ("Deployment", "Job")
    pods = [d["spec"]["template"]["spec"] for d in manifests() if d["kind"] in kinds]
    assert len(pods) == 3  # web, worker, the migration
    for pod in pods:
        for container in pod.get("initContainers", []) + pod["containers"]:
            command = container["command"]
            assert command[0] == "relay"
            _parser().parse_args(command[1:])  # exits on an option Relay does not know
            for variable in container.get("env", []):
                assert variable["name"] in known, variable["name"]
            probes = [
                container.get(p, {}).get("httpGet", {}).get("path")
                for p in ("readinessProbe", "livenessProbe")
            ]
            assert set(probes) <= {None, "/readyz", "/healthz"}
    configmap = next(d for d in manifests() if d["kind"] == "ConfigMap")
    assert set(configmap["data"]) <= known


def test_systemd_units_verify(tmp_path: Path) -> None:
    relay = shutil.which("relay", path=str(ROOT / ".venv" / "bin")) or shutil.which("true")
    units = []
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text().replace("/opt/relay/.venv/bin/relay", str(relay))
        name = unit.name.replace("@.service", "@8000.service")  # an instance of a template
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    assert len(units) == 2
    done = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for unit in units:
        command = next(
            line.split("=", 1)[1].split()
            for line in Path(unit).read_text().splitlines()
            if line.startswith("ExecStart=")
        )
        _parser().parse_args([arg.replace("%i", "8000") for arg in command[1:]])


def nginx_test(conf: Path, tmp_path: Path) -> None:
    """`nginx -t` on a copy whose pid file is in tmp_path (the real one is root's)."""
    text = re.sub(r"^pid .*;$", f"pid {tmp_path / 'nginx.pid'};", conf.read_text(), flags=re.M)
    text = text.replace("proxy_cache_path /run/", f"proxy_cache_path {tmp_path}/")
    (tmp_path / "nginx.conf").write_text(text)
    done = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr


def test_nginx_conf_is_valid(tmp_path: Path) -> None:
    nginx_test(ROOT / "infra" / "nginx.conf", tmp_path)


def compose() -> dict:
    return yaml.safe_load((COMPOSE / "compose.yaml").read_text())


def env_example() -> dict[str, str]:
    lines = (COMPOSE / "env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against the Compose specification's schema that it ships."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
        + [str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_matches_the_compose_specification() -> None:
    done = check_compose(COMPOSE / "compose.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    # The schema takes any string as a duration; Compose reads them as Go durations.
    for name, service in compose()["services"].items():
        durations = [service.get("stop_grace_period", "0s")] + [
            value
            for key, value in service.get("healthcheck", {}).items()
            if key in ("interval", "timeout", "start_period", "start_interval")
        ]
        for duration in durations:
            assert re.fullmatch(r"(\d+(\.\d+)?(ns|us|ms|s|m|h))+", duration), (name, duration)


@pytest.mark.parametrize(
    ("found", "broken", "named"),
    [
        ("healthcheck:", "healthchek:", "healthchek"),
        ("condition: service_completed_successfully", "condition: service_done", "service_done"),
        ("stop_grace_period: 20s", "stop_grace_period: [20s]", "stop_grace_period"),
    ],
)
def test_compose_checker_refuses_a_broken_file(
    tmp_path: Path, found: str, broken: str, named: str
) -> None:
    text = (COMPOSE / "compose.yaml").read_text()
    assert found in text
    (tmp_path / "compose.yaml").write_text(text.replace(found, broken, 1))
    done = check_compose(tmp_path / "compose.yaml")
    assert done.returncode == 1 and named in done.stdout, done.stdout + done.stderr


def test_compose_relay_services_run_the_kubernetes_commands_with_relays_variables() -> None:
    services = compose()["services"]
    kubernetes = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d["spec"]["template"]["spec"]
        for d in manifests()
        if d["kind"] in ("Deployment", "Job")
    }
    known = variables_in_source() | UVICORN_VARIABLES
    example = env_example()
    for name in ("migrate", "web", "worker"):
        service = services[name]
        command = service["entrypoint"] + service["command"]
        assert command == kubernetes[name]["containers"][0]["command"], name
        _parser().parse_args(command[1:])
        assert set(service["environment"]) <= known, set(service["environment"]) - known
        filled = {
            variable: INTERPOLATION.sub(lambda m: example[m[1]], value)
            for variable, value in service["environment"].items()
        }
        Settings.from_env(filled)  # raises SettingsError on a value Relay refuses
        assert filled["RELAY_AUTO_MIGRATE"] == "false"  # the migrate service runs first
    assert services["web"]["environment"]["RELAY_WORKERS"] == "0"


def test_compose_start_order_and_health_checks() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "minio", "bucket", "migrate", "web", "worker", "nginx"}

    def after(name: str) -> dict[str, str]:
        return {dep: c["condition"] for dep, c in services[name].get("depends_on", {}).items()}

    assert after("migrate") == {"postgres": "service_healthy"}
    set_up = "service_completed_successfully"
    for name in ("web", "worker"):
        assert after(name) == {"postgres": "service_healthy", "migrate": set_up, "bucket": set_up}
    assert after("bucket") == {"minio": "service_healthy"}
    assert after("nginx") == {"web": "service_healthy", "minio": "service_healthy"}
    for name in services:
        for dep, condition in after(name).items():
            if condition == "service_healthy":
                assert services[dep]["healthcheck"]["test"][0] == "CMD", dep
            else:  # a one-shot that restarted would never complete
                assert services[dep].get("restart", "no") == "no", dep
    port = services["web"]["command"][services["web"]["command"].index("--port") + 1]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_bucket_is_made_for_relay_before_it_starts() -> None:
    services = compose()["services"]
    relay = services["web"]["environment"]
    script = services["bucket"]["command"][0]
    assert f"mc mb --ignore-existing store/{relay['RELAY_S3_BUCKET']}\n" in script
    assert f"mc version enable store/{relay['RELAY_S3_BUCKET']}\n" in script
    assert relay["RELAY_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert relay["RELAY_S3_CREATE_BUCKET"] == "false"
    assert set(re.findall(r"\$\$(\w+)", script)) <= set(services["bucket"]["environment"])


def test_compose_secrets_come_from_the_env_file() -> None:
    example = env_example()
    text = (COMPOSE / "compose.yaml").read_text()
    assert set(INTERPOLATION.findall(text)) == set(example)  # each one explained, none unused
    for name, service in compose()["services"].items():
        for variable, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD|SECRET_KEY", variable):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", value), (name, variable)
    database = compose()["services"]["web"]["environment"]["RELAY_DATABASE_URL"]
    password = r"\$\{POSTGRES_PASSWORD:\?[^}]+\}"
    assert re.fullmatch(rf"postgresql\+asyncpg://relay:{password}@postgres:5432/relay", database)
    for variable, value in example.items():
        if re.search(r"PASSWORD|SECRET_KEY", variable):
            assert value == "change-me", variable
    assert ".env" in (COMPOSE / ".gitignore").read_text().split()


# What only infra/nginx.conf's check of local media needs: Compose's media come from S3.
MEDIA_CHECK = (
    "proxy_cache",
    "proxy_ignore_headers",
    "proxy_intercept_errors",
    'proxy_set_header Content-Length "";',
)


def test_compose_nginx_conf_is_valid_and_proxies_like_infra_nginx_conf(tmp_path: Path) -> None:
    conf = COMPOSE / "nginx.conf"
    nginx_test(conf, tmp_path)

    def proxying(path: Path) -> set[str]:
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        return {
            line
            for line in lines
            if line.startswith(("proxy_", "client_max_body_size"))
            and not line.startswith(("proxy_pass", *MEDIA_CHECK))
        }

    assert "proxy_request_buffering off;" in proxying(conf)
    assert proxying(ROOT / "infra" / "nginx.conf") <= proxying(conf)
    services = compose()["services"]
    port = services["web"]["command"][services["web"]["command"].index("--port") + 1]
    assert f"http://web:{port};" in conf.read_text()
    nginx = services["nginx"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    listens = set(re.findall(r"^\s*listen (\d+);", conf.read_text(), flags=re.M))
    assert {published.split(":")[-1] for published in nginx["ports"]} == listens
