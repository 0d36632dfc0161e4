"""infra/compose.yaml: the single-host Docker stack, checked structurally (no Docker engine
here: `docker compose config` runs only where docker is installed). Every file it mounts or
builds from exists, ports stay on loopback, images are pinned, and the monitoring configs it
mounts agree with the paths they name inside the containers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

INFRA = ROOT / "infra"
COMPOSE = yaml.safe_load((INFRA / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
MONITORING = INFRA / "monitoring"

EXPECTED = {
    "mosquitto",
    "nats",
    "redis",
    "postgres",
    "mlflow",
    "stream-processor",
    "serving",
    "retrain-worker",
    "edge-agent",
    "prometheus",
    "alertmanager",
    "grafana",
}


def mounts(service: str) -> dict[str, Path]:
    """Container path -> repository path of each bind mount (named volumes left out)."""
    out = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            out[target] = (INFRA / source).resolve()
    return out


def in_container(service: str, path: str) -> Path:
    """The repository file a container path of `service` resolves to through its mounts."""
    for target, source in sorted(mounts(service).items(), key=lambda kv: -len(kv[0])):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return source / path[len(target) :].lstrip("/")
    raise AssertionError(f"{service}: nothing is mounted at {path}")


def test_the_whole_stack_is_described():
    assert set(SERVICES) == EXPECTED


def test_every_image_is_pinned_or_built_from_our_dockerfiles():
    for name, service in SERVICES.items():
        if "build" in service:
            build = service["build"]
            assert (INFRA / build["context"]).resolve() == ROOT, name
            assert (ROOT / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"
        else:
            image = service["image"]
            if image.startswith("reefguard/"):
                # Ours, built by another service of the file (the trainer image runs twice).
                assert any(s.get("image") == image and "build" in s for s in SERVICES.values())
                continue
            assert re.search(r":[\w.-]*\d", image), f"{name}: {image} has no pinned version tag"
            assert not image.endswith(":latest"), name


def test_published_ports_are_loopback_only():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_bind_mounts_and_secret_files_point_into_the_repository():
    for name in SERVICES:
        for target, source in mounts(name).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) is missing"
    for name, secret in COMPOSE["secrets"].items():
        path = (INFRA / secret["file"]).resolve()
        assert path.parent == INFRA / "secrets", name
    ignore = (INFRA / "secrets/.gitignore").read_text().splitlines()
    assert "*" in ignore, "infra/secrets/ must stay out of git"
    for name, service in SERVICES.items():
        for ref in service.get("secrets", []):
            assert (ref if isinstance(ref, str) else ref["source"]) in COMPOSE["secrets"], name
    for service in SERVICES.values():
        for key in service.get("depends_on", []):
            assert key in SERVICES


def test_prometheus_finds_its_rules_and_targets_in_the_container():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    for pattern in config["rule_files"]:
        folder = in_container("prometheus", str(Path(pattern).parent))
        assert list(folder.glob(Path(pattern).name)), pattern
    hosts = {
        target.split(":")[0]: int(target.split(":")[1])
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    for job in config["scrape_configs"]:
        for sd in job.get("file_sd_configs", []):
            for pattern in sd["files"]:
                files = list(in_container("prometheus", str(Path(pattern).parent)).glob("*.json"))
                assert files, pattern
                for file in files:
                    for group in json.loads(file.read_text()):
                        assert {"agent_id", "site_id"} <= set(group["labels"]), file
                        for target in group["targets"]:
                            hosts[target.split(":")[0]] = int(target.split(":")[1])
    for alertmanagers in config["alerting"]["alertmanagers"]:
        for static in alertmanagers["static_configs"]:
            for target in static["targets"]:
                hosts[target.split(":")[0]] = int(target.split(":")[1])
    for host, port in hosts.items():
        assert host in SERVICES, f"Prometheus talks to {host}, not a compose service"
        dockerfile = SERVICES[host].get("build", {}).get("dockerfile")
        if dockerfile:
            assert f"EXPOSE {port}" in (ROOT / dockerfile).read_text(), f"{host}:{port}"


def test_alertmanager_reads_the_slack_secret_and_templates_where_compose_puts_them():
    config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
    targets = {
        ref["target"]
        for ref in SERVICES["alertmanager"]["secrets"]
        if isinstance(ref, dict) and ref["source"] == "slack-webhook-url"
    }
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            assert "api_url" not in slack, "the webhook URL must come from a file"
            assert slack["api_url_file"] in targets
    for pattern in config["templates"]:
        assert list(in_container("alertmanager", str(Path(pattern).parent)).glob("*.tmpl"))


def test_grafana_is_provisioned_with_the_dashboards():
    provisioning = in_container("grafana", "/etc/grafana/provisioning")
    dashboards = yaml.safe_load((provisioning / "dashboards/reefguard.yaml").read_text())
    path = dashboards["providers"][0]["options"]["path"]
    assert len(list(in_container("grafana", path).glob("*.json"))) == 4
    sources = yaml.safe_load((provisioning / "datasources/prometheus.yaml").read_text())
    for source in sources["datasources"]:
        host = re.match(r"http://([\w-]+):\d+", source["url"])
        assert host and host.group(1) in SERVICES, source["url"]
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert in_container("grafana", home).is_file()


def test_commands_are_registered_cli_commands():
    registered = set(
        re.findall(r"name: '([a-z-]+)'", (ROOT / "core/src/cli/commands.ts").read_text())
    )
    for name in ("stream-processor", "serving", "retrain-worker", "edge-agent"):
        command = SERVICES[name]["command"]
        text = " ".join(command) if isinstance(command, list) else command
        words = set(re.findall(r"(?:^|\./reefguard |\[')([a-z-]+)", text)) | {text.split()[0]}
        assert words & registered, f"{name}: {text}"


def test_the_edge_agent_systemd_unit_is_referenced_and_runs_the_agent():
    unit = INFRA / "systemd/reefguard-edge-agent.service"
    assert "infra/systemd/reefguard-edge-agent.service" in (INFRA / "compose.yaml").read_text()
    assert re.search(r"^ExecStart=.* edge-agent --config ", unit.read_text(), re.MULTILINE)
    assert (INFRA / "systemd/edge-agent.example.json").is_file()


def has_docker_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not has_docker_compose(), reason="docker compose is not installed here")
def test_docker_compose_accepts_the_file():
    subprocess.run(
        ["docker", "compose", "-f", str(INFRA / "compose.yaml"), "config", "-q"], check=True
    )
