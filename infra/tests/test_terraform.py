"""Terraform root modules parsed as HCL (python-hcl2): what the design asks of each module
is there, wired the way it must be. terraform itself cannot plan here (no providers, no
cloud account); checkov scans the same files in infra/ci/static-checks.sh."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from conftest import ROOT

TF = ROOT / "infra/terraform"
MODULES = ["core", "mlops", "modules/bucket"]


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def unquote_keys(value: Any) -> Any:
    """python-hcl2 keeps the quotes of quoted names ('"gpu"'); drop them and its __ keys."""
    if isinstance(value, dict):
        return {
            unquote(k): unquote_keys(v) for k, v in value.items() if not str(k).startswith("__")
        }
    if isinstance(value, list):
        return [unquote_keys(v) for v in value]
    return value


def load(path: Path) -> dict[str, Any]:
    with open(path) as f:
        return unquote_keys(hcl2.load(f))


def parse(module: str) -> dict[str, list]:
    merged: dict[str, list] = {}
    for path in sorted((TF / module).glob("*.tf")):
        for key, blocks in load(path).items():
            merged.setdefault(key, []).extend(blocks)
    return merged


def resources(module: str, kind: str) -> dict[str, dict]:
    found = {}
    for block in parse(module).get("resource", []):
        for rtype, named in block.items():
            if unquote(rtype) == kind:
                for name, body in named.items():
                    found[unquote(name)] = body
    return found


@pytest.mark.parametrize("module", MODULES)
def test_module_parses_and_pins_the_aws_provider(module):
    parsed = parse(module)
    providers = parsed["terraform"][0]["required_providers"][0]
    assert unquote(providers["aws"]["version"]).startswith("~> 5.")
    if module != "modules/bucket":
        assert "backend" in parsed["terraform"][0]
        assert unquote(parsed["terraform"][0]["required_version"]).startswith(">= 1.6")


@pytest.mark.parametrize("module", ["core", "mlops", "modules/bucket"])
def test_every_variable_is_described_and_typed(module):
    for block in parse(module)["variable"]:
        for name, spec in block.items():
            if name.startswith("__"):
                continue
            assert unquote(spec.get("description", "")), (
                f"{module} variable {name} has no description"
            )
            assert "type" in spec, f"{module} variable {name} has no type"


def test_core_has_vpc_eks_with_spot_gpu_group_ecr_and_iam():
    assert resources("core", "aws_vpc")
    assert len(resources("core", "aws_subnet")) == 2  # public and private, count = 2 each
    cluster = resources("core", "aws_eks_cluster")["main"]
    assert [unquote(r) for r in cluster["encryption_config"][0]["resources"]] == ["secrets"]
    gpu = resources("core", "aws_eks_node_group")["gpu"]
    assert unquote(gpu["capacity_type"]) == "SPOT"
    assert unquote(gpu["ami_type"]).endswith("NVIDIA")
    scaling = gpu["scaling_config"][0]
    assert scaling["min_size"] == 0 and scaling["desired_size"] == 0, "GPU nodes rest at zero"
    assert unquote(gpu["taint"][0]["key"]) == "nvidia.com/gpu"
    assert (
        unquote(resources("core", "aws_eks_node_group")["system"]["capacity_type"]) == "ON_DEMAND"
    )
    ecr = resources("core", "aws_ecr_repository")["main"]
    assert unquote(ecr["image_tag_mutability"]) == "IMMUTABLE"
    repos = set(re.findall(r'"([a-z-]+)"', ecr["for_each"]))
    dockerfiles = {
        p.name.removesuffix(".Dockerfile") for p in (ROOT / "infra/docker").glob("*.Dockerfile")
    }
    assert repos == dockerfiles == {"edge-agent", "stream-processor", "serving", "trainer"}
    roles = resources("core", "aws_iam_role")
    assert {"models_reader", "workloads", "github_ci", "single_host", "node", "cluster"} <= set(
        roles
    )


def test_buckets_use_intelligent_tiering_then_glacier_after_90_days():
    calls = {unquote(k): v for block in parse("core")["module"] for k, v in block.items()}
    assert set(calls) == {"data_bucket", "models_bucket"}
    assert unquote(calls["data_bucket"]["glacier_prefix"]) == "raw/"
    assert "glacier_prefix" not in calls["models_bucket"], "current models stay readable"
    defaults = {name: spec for block in parse("core")["variable"] for name, spec in block.items()}
    assert defaults["glacier_after_days"]["default"] == 90
    lifecycle = resources("modules/bucket", "aws_s3_bucket_lifecycle_configuration")["this"]
    first = lifecycle["rule"][0]
    assert first["transition"][0]["days"] == 0
    assert unquote(first["transition"][0]["storage_class"]) == "INTELLIGENT_TIERING"
    assert unquote(first["noncurrent_version_transition"][0]["storage_class"]) == "GLACIER"
    prefixed = lifecycle["dynamic"][0]["rule"]["content"][0]
    assert unquote(prefixed["transition"][0]["storage_class"]) == "GLACIER"
    assert "glacier_after_days" in prefixed["transition"][0]["days"]
    sse = resources("modules/bucket", "aws_s3_bucket_server_side_encryption_configuration")["this"]
    assert (
        unquote(sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"])
        == "aws:kms"
    )
    assert (
        resources("modules/bucket", "aws_s3_bucket_public_access_block")["this"][
            "block_public_acls"
        ]
        is True
    )


def test_mlops_has_redis_prometheus_alb_and_serverless_sagemaker():
    redis = resources("mlops", "aws_elasticache_replication_group")["redis"]
    assert (
        redis["transit_encryption_enabled"] is True and redis["at_rest_encryption_enabled"] is True
    )
    params = resources("mlops", "aws_elasticache_parameter_group")["redis"]["parameter"][0]
    assert (unquote(params["name"]), unquote(params["value"])) == (
        "maxmemory-policy",
        "volatile-ttl",
    )
    assert resources("mlops", "aws_prometheus_workspace")
    target_group = resources("mlops", "aws_lb_target_group")["serving"]
    assert unquote(target_group["health_check"][0]["path"]) == "/readyz"
    assert target_group["port"] == 8080
    variant = resources("mlops", "aws_sagemaker_endpoint_configuration")["champion"][
        "production_variants"
    ][0]
    assert "serverless_config" in variant and "instance_type" not in variant
    model = resources("mlops", "aws_sagemaker_model")["champion"]
    assert "reefguard-bleaching-risk/champion/" in model["primary_container"][0]["model_data_url"]


def test_tfvars_only_set_declared_variables():
    for tfvars in sorted((TF / "env").glob("*/*.tfvars")):
        declared = {name for block in parse(tfvars.stem)["variable"] for name in block}
        keys = set(load(tfvars))
        assert keys <= declared, f"{tfvars}: {keys - declared}"


def test_every_checkov_skip_says_why():
    skips = []
    for path in sorted(TF.rglob("*.tf")):
        skips += re.findall(r"#checkov:skip=.*", path.read_text())
    assert skips, "the skips are inline, next to the resource they concern"
    for skip in skips:
        assert re.fullmatch(r"#checkov:skip=CKV2?_AWS_\d+:.{20,}", skip), skip


def test_no_machine_paths_or_real_account_ids():
    for path in [*TF.rglob("*.tf"), *TF.rglob("*.tfvars")]:
        text = Path(path).read_text()
        assert "/work/" not in text and "/home/" not in text
        for account in re.findall(r"\b\d{12}\b", text):
            assert account == "000000000000", f"{path}: {account}"
