"""Helmfile: the four upstream charts at pinned versions with their values files, and the
values agreeing with what the services expect. helm and the chart repositories are not
reachable here, so the charts themselves are not rendered."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT

HELM = ROOT / "infra/helm"


def releases() -> list[dict]:
    text = (HELM / "helmfile.yaml.gotmpl").read_text()
    # Replace template expressions with a placeholder so the state parses as YAML.
    plain = re.sub(r"\{\{[^}]*\}\}", "TEMPLATED", text)
    docs = list(yaml.safe_load_all(plain))
    assert set(docs[0]["environments"]) == {"dev", "prod"}
    return docs[1]["releases"]


def test_releases_are_the_official_charts_at_pinned_versions():
    by_name = {r["name"]: r for r in releases()}
    assert {name: r["chart"] for name, r in by_name.items()} == {
        "nats": "nats/nats",
        "redis": "bitnami/redis",
        "mlflow": "community-charts/mlflow",
        "lakefs": "lakefs/lakefs",
    }
    for release in by_name.values():
        assert re.fullmatch(r"\d+\.\d+\.\d+", release["version"]), release["name"]
        for values in release["values"]:
            if isinstance(values, str):
                assert (HELM / values).exists(), values
                yaml.safe_load((HELM / values).read_text())


def test_environment_values_define_what_the_templates_use():
    text = (HELM / "helmfile.yaml.gotmpl").read_text()
    used = set(re.findall(r"\.Values\.(\w+)", text))
    for env in ("dev", "prod"):
        values = yaml.safe_load((HELM / f"values/env-{env}.yaml").read_text())
        assert used <= set(values), f"{env} lacks {used - set(values)}"
    assert yaml.safe_load((HELM / "values/env-prod.yaml").read_text())["natsReplicas"] == 3


def test_nats_has_jetstream_mqtt_and_monitoring_for_keda():
    nats = yaml.safe_load((HELM / "values/nats.yaml").read_text())
    assert nats["config"]["jetstream"]["enabled"] is True
    assert nats["config"]["mqtt"]["enabled"] is True
    assert nats["config"]["monitor"]["port"] == 8222
    scaled = (ROOT / "infra/k8s/base/stream-processor/scaled-object.yaml").read_text()
    assert ":8222" in scaled


def test_redis_evicts_by_ttl_like_elasticache():
    redis = yaml.safe_load((HELM / "values/redis.yaml").read_text())
    assert "maxmemory-policy volatile-ttl" in redis["commonConfiguration"]
    assert redis["metrics"]["enabled"] is True
    mlops = (ROOT / "infra/terraform/mlops/main.tf").read_text()
    assert 'value = "volatile-ttl"' in mlops


def test_services_in_the_settings_configmap_match_release_names():
    settings = yaml.safe_load((ROOT / "infra/k8s/base/config.yaml").read_text())["data"]
    assert settings["REEFGUARD_NATS_URL"] == "nats://nats:4222"
    assert settings["REEFGUARD_MQTT_URL"] == "mqtt://nats:1883", "NATS serves MQTT too"
    assert settings["REEFGUARD_MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    mlflow = yaml.safe_load((HELM / "values/mlflow.yaml").read_text())
    assert mlflow["service"]["port"] == 5000
