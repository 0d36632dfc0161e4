"""Kustomize base and overlays: every overlay builds, every built-in object matches the
Kubernetes API types, and the wiring the design depends on holds (probes, non-root,
resources, canary weights and subsets, GPU scheduling, KServe ONNX, JetStream scaling)."""

from __future__ import annotations

import re

import pytest

from conftest import OVERLAYS, ROOT, find, pod_spec
from k8s_schema import model_for, validate

WORKLOADS = ("Deployment", "Job", "CronJob")
CUSTOM_KINDS = {"ScaledObject", "DestinationRule", "VirtualService", "InferenceService"}


def test_overlays_exist_and_build(rendered):
    assert set(OVERLAYS) == {"dev", "prod"}
    for name, objects in rendered.items():
        kinds = {o["kind"] for o in objects}
        assert {"Deployment", "Service", "HorizontalPodAutoscaler", "Job", "CronJob"} <= kinds, name
        assert kinds >= CUSTOM_KINDS, name


@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
def test_builtin_objects_match_the_kubernetes_api_types(rendered, overlay):
    problems = []
    for obj in rendered[overlay]:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        assert model_for(obj) is not None, f"no API type for {obj['apiVersion']} {obj['kind']}"
        problems += validate(obj)
    assert problems == []


def test_schema_check_rejects_typos_and_missing_fields():
    typo = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "replica": 2,
            "selector": {},
            "template": {
                "spec": {"containers": [{"name": "a", "imagePullPolicy": "Always", "port": 80}]}
            },
        },
    }
    errors = validate(typo)
    assert any("spec.replica: unknown field" in e for e in errors)
    assert any("containers[0].port: unknown field" in e for e in errors)
    missing = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {"spec": {}}},
    }
    assert any("containers" in e for e in validate(missing))
    wrong_type = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {"A": 1},
    }
    assert any("data.A: expected str" in e for e in validate(wrong_type))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_non_root_with_resources(rendered, overlay):
    for obj in rendered[overlay]:
        if obj["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert spec["securityContext"]["runAsUser"] >= 10000
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]
            assert "memory" in container["resources"]["limits"], container["name"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert container["command"][0] == "./reefguard", "images run the README's launcher"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_serving_probes_health_and_readiness_on_its_port(rendered, overlay):
    for variant in ("champion", "challenger"):
        deployment = find(rendered[overlay], "Deployment", f"serving-{variant}")
        container = pod_spec(deployment)["containers"][0]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["ports"] == [{"name": "http", "containerPort": 8080}]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["REEFGUARD_HOST"] == "0.0.0.0"
        # Each variant's pods answer with that variant only; the mesh does the split.
        assert env["REEFGUARD_CANARY_WEIGHT"] == {"champion": "0", "challenger": "1"}[variant]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["reefguard.io/variant"] == variant
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_hpas_and_pdb_target_objects_that_exist(rendered, overlay):
    objects = rendered[overlay]
    for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        find(objects, target["kind"], target["name"])
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    champion_hpa = find(objects, "HorizontalPodAutoscaler", "serving-champion")
    pdb = find(objects, "PodDisruptionBudget", "serving-champion")
    assert (
        pdb["spec"]["minAvailable"] < champion_hpa["spec"]["minReplicas"]
        or champion_hpa["spec"]["minReplicas"] == 1
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_canary_split_is_90_10_over_subsets_that_select_serving_pods(rendered, overlay):
    objects = rendered[overlay]
    service = find(objects, "Service", "serving")
    rule = find(objects, "DestinationRule", "serving")
    vs = find(objects, "VirtualService", "serving")
    assert rule["spec"]["host"] == vs["spec"]["hosts"][0] == service["metadata"]["name"]
    subsets = {s["name"]: s["labels"] for s in rule["spec"]["subsets"]}
    assert set(subsets) == {"champion", "challenger"}
    for name, labels in subsets.items():
        pod_labels = find(objects, "Deployment", f"serving-{name}")["spec"]["template"]["metadata"][
            "labels"
        ]
        assert labels.items() <= pod_labels.items()
        assert service["spec"]["selector"].items() <= pod_labels.items()
    canary = next(r for r in vs["spec"]["http"] if r["name"] == "canary")
    weights = {r["destination"]["subset"]: r["weight"] for r in canary["route"]}
    assert weights == {"champion": 90, "challenger": 10}
    for route in vs["spec"]["http"]:
        for dest in route["route"]:
            assert dest["destination"]["subset"] in subsets


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_trainer_runs_on_the_gpu_pool_the_terraform_node_group_defines(rendered, overlay):
    cluster_tf = (ROOT / "infra/terraform/core/cluster.tf").read_text()
    gpu_group = cluster_tf[cluster_tf.index('resource "aws_eks_node_group" "gpu"') :]
    taint = re.search(
        r'taint \{\s*key\s*=\s*"([^"]+)"\s*value\s*=\s*"([^"]+)"\s*effect\s*=\s*"([^"]+)"',
        gpu_group,
    )
    assert taint, "the GPU node group has a taint"
    assert (
        '"reefguard.io/pool"             = "gpu"' in gpu_group
        or '"reefguard.io/pool" = "gpu"' in gpu_group
    )
    assert 'capacity_type   = "SPOT"' in gpu_group
    job = find(rendered[overlay], "Job", "trainer")
    cron = find(rendered[overlay], "CronJob", "trainer-weekly")
    for obj in (job, cron):
        spec = pod_spec(obj)
        assert spec["nodeSelector"] == {"reefguard.io/pool": "gpu"}
        toleration = spec["tolerations"][0]
        effect = {"NO_SCHEDULE": "NoSchedule"}[taint.group(3)]
        assert (toleration["key"], toleration["value"], toleration["effect"]) == (
            taint.group(1),
            taint.group(2),
            effect,
        )
        resources = spec["containers"][0]["resources"]
        assert (
            resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == "1"
        )
    # The CronJob is the Job on a schedule: same pod, so they never drift apart.
    assert cron["spec"]["jobTemplate"]["spec"]["template"] == job["spec"]["template"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kserve_serves_the_onnx_artifact_from_this_environments_bucket(rendered, overlay):
    isvc = find(rendered[overlay], "InferenceService", "reefguard-bleaching-risk")
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"]["name"] == "onnx"
    assert (
        model["storageUri"] == f"s3://reefguard-models-{overlay}/reefguard-bleaching-risk/champion"
    )
    account = find(
        rendered[overlay], "ServiceAccount", isvc["spec"]["predictor"]["serviceAccountName"]
    )
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        f"reefguard-{overlay}-models-reader"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_stream_processor_scales_on_the_readings_consumer_group(rendered, overlay):
    objects = rendered[overlay]
    deployment = find(objects, "Deployment", "stream-processor")
    scaled = find(objects, "ScaledObject", "stream-processor")
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "nats-jetstream"
    # The stream and durable consumer the stream processor creates and binds to.
    source = (ROOT / "stream-processor/src/jetstream-source.ts").read_text()
    assert f"DEFAULT_READINGS_STREAM = '{trigger['metadata']['stream']}'" in source
    assert f"DEFAULT_DURABLE = '{trigger['metadata']['consumer']}'" in source
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    container = pod_spec(deployment)["containers"][0]
    args = dict(zip(container["args"][::2], container["args"][1::2], strict=True))
    assert args["--source"] == "jetstream"
    # One DuckDB file per pod: the instance name is the pod's name.
    assert args["--instance"] == "$(REEFGUARD_POD_NAME)"
    env = {e["name"]: e for e in container["env"]}
    assert env["REEFGUARD_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # Metrics on the pod IP (the processor's default is loopback), probed and scraped there.
    assert env["REEFGUARD_METRICS_HOST"]["value"] == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert str(ports["metrics"]) == args["--metrics-port"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == args["--metrics-port"]
    policy = find(objects, "NetworkPolicy", "stream-processor")
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [
        int(args["--metrics-port"])
    ]
    cli_file = ROOT / "stream-processor/src/cli.ts"
    if not cli_file.exists():
        pytest.xfail("./reefguard stream-processor has no CLI yet (issue 5)")
    cli = cli_file.read_text()
    for flag in args:
        assert (
            f"{flag.removeprefix('--')}: {{ type: 'string'" in cli
            or f"'{flag.removeprefix('--')}': {{ type: 'string'" in cli
        ), flag


def test_overlays_set_namespaces_and_pin_images(rendered):
    expected_ns = {"dev": "reefguard-dev", "prod": "reefguard"}
    ecr = (ROOT / "infra/terraform/core/storage.tf").read_text()
    repos = set(re.findall(r'"(edge-agent|stream-processor|serving|trainer)"', ecr))
    for overlay, namespace in expected_ns.items():
        for obj in rendered[overlay]:
            if obj["kind"] == "Namespace":
                assert obj["metadata"]["name"] == namespace
            else:
                assert obj["metadata"]["namespace"] == namespace, obj["metadata"]["name"]
            if obj["kind"] in WORKLOADS:
                image = pod_spec(obj)["containers"][0]["image"]
                match = re.fullmatch(
                    r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/reefguard/([a-z-]+):(.+)", image
                )
                assert match, image
                assert match.group(1) in repos, f"{image} has no ECR repository in Terraform"
                assert match.group(2) != "latest"
    prod_tags = {
        pod_spec(o)["containers"][0]["image"].rsplit(":", 1)[1]
        for o in rendered["prod"]
        if o["kind"] in WORKLOADS
    }
    assert len(prod_tags) == 1, "prod runs one release of every image"


def test_network_policies_cover_every_workload(rendered):
    objects = rendered["prod"]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert any(p["spec"]["podSelector"] == {} for p in policies), "a default deny"
    for obj in (o for o in objects if o["kind"] in WORKLOADS):
        labels = (obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"])[
            "template"
        ]["metadata"]["labels"]
        selected = [
            p
            for p in policies
            if p["spec"]["podSelector"].get("matchLabels", {"-": "-"}).items() <= labels.items()
        ]
        assert selected, obj["metadata"]["name"]
