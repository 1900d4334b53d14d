"""The deployment files, checked offline (no container engine here): the Kubernetes
manifests against the API's schemas (kubernetes-validate), every command in them against
Relay's own CLI and every variable against the settings Relay reads; the systemd units with
`systemd-analyze verify`; infra/nginx.conf with `nginx -t`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import yaml

from relay.cli import _parser
from tests.support.server import ROOT
from tests.test_settings import variables_in_source

DEPLOY = ROOT / "infra" / "deploy"
KUBERNETES = "1.30.0"


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


def test_nginx_conf_is_valid(tmp_path: Path) -> None:
    conf = (ROOT / "infra" / "nginx.conf").read_text()
    conf = conf.replace("pid /run/nginx-relay.pid;", f"pid {tmp_path / 'nginx.pid'};")
    (tmp_path / "nginx.conf").write_text(conf)
    done = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
