"""Monthly cost estimate of the Terraform root modules, per environment, in AUD.

Reads each module's variables (defaults from variables.tf, overridden by
infra/terraform/env/<env>/<module>.tfvars), prices them with infra/cost/prices.yaml and
prints one table per environment: idle (nothing running but what is always on) and
expected (plus the usage the variables declare: GPU hours, requests). With --check it
fails when the hobby environment's idle cost is above the price table's target.

    python infra/cost/estimate.py [--env hobby --env prod] [--check] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "infra" / "terraform"
PRICES = Path(__file__).with_name("prices.yaml")
MODULES = ("core", "mlops")


@dataclass(frozen=True)
class Line:
    module: str
    item: str
    idle_usd: float
    usage_usd: float
    basis: str


def _unwrap(value: Any) -> Any:
    """python-hcl2 quotes strings (`"x"` -> '"x"'); give plain Python values back."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, dict):
        return {_unwrap(k): _unwrap(v) for k, v in value.items()}
    return value


def load_variables(module: str, env: str) -> dict[str, Any]:
    """The values Terraform would use for `module` with env/<env>/<module>.tfvars."""
    with open(TERRAFORM / module / "variables.tf") as f:
        declared = hcl2.load(f)
    values: dict[str, Any] = {}
    for block in declared.get("variable", []):
        for name, spec in block.items():
            if not name.startswith("__"):
                values[_unwrap(name)] = _unwrap(spec.get("default"))
    tfvars = TERRAFORM / "env" / env / f"{module}.tfvars"
    with open(tfvars) as f:
        # python-hcl2 adds bookkeeping keys such as __comments__.
        overrides = {
            _unwrap(k): _unwrap(v) for k, v in hcl2.load(f).items() if not k.startswith("__")
        }
    unknown = set(overrides) - set(values)
    if unknown:
        raise SystemExit(f"{tfvars}: variables not declared in {module}: {sorted(unknown)}")
    values.update(overrides)
    return values


def price_core(v: dict[str, Any], p: dict[str, Any]) -> list[Line]:
    h = p["hours_per_month"]
    a = p["assumptions"]
    lines = [Line("core", "KMS key", p["kms_key_month"], 0.0, "1 customer-managed key")]
    stored_gb = v["data_bucket_gb"] + v["models_bucket_gb"]
    objects = stored_gb * a["objects_per_bucket_gb"]
    s3 = (
        stored_gb * p["s3_intelligent_tiering_frequent_gb_month"]
        + objects / 1000 * p["s3_intelligent_tiering_monitoring_per_1000_objects"]
    )
    lines.append(
        Line(
            "core",
            "S3 data + models",
            s3,
            0.0,
            f"{stored_gb:g} GB Intelligent-Tiering (frequent tier: upper bound)",
        )
    )
    lines.append(
        Line(
            "core",
            "ECR",
            v["ecr_storage_gb"] * p["ecr_storage_gb_month"],
            0.0,
            f"{v['ecr_storage_gb']:g} GB of images",
        )
    )
    log_gb = a["log_gb_per_month_cluster"] if v["cluster_enabled"] else a["log_gb_per_month_hobby"]
    logs = log_gb * (p["cloudwatch_logs_ingest_gb"] + p["cloudwatch_logs_store_gb_month"])
    lines.append(
        Line(
            "core",
            "CloudWatch logs",
            logs,
            0.0,
            f"{log_gb:g} GB/month (flow-log rejects, EKS control plane)",
        )
    )
    if v["nat_gateway_enabled"]:
        nat = h * (p["nat_gateway_hourly"] + p["public_ipv4_hourly"])
        traffic = a["nat_gb_per_month"] * p["nat_gateway_gb"]
        lines.append(
            Line(
                "core",
                "NAT gateway",
                nat,
                traffic,
                f"1 gateway + its IPv4, {a['nat_gb_per_month']} GB",
            )
        )
    if v["cluster_enabled"]:
        lines.append(
            Line("core", "EKS control plane", h * p["eks_control_plane_hourly"], 0.0, f"{h} h")
        )
        node = v["system_node_instance_type"]
        n = v["system_node_count"]
        nodes = n * (h * p["ec2_hourly"][node] + a["system_node_volume_gb"] * p["ebs_gp3_gb_month"])
        lines.append(
            Line(
                "core",
                "system nodes",
                nodes,
                0.0,
                f"{n} x {node} on-demand + {a['system_node_volume_gb']} GB gp3",
            )
        )
        gpu_type = v["gpu_instance_types"][0]
        hours = v["gpu_hours_per_month"]
        gpu_hourly = (
            p["ec2_spot_hourly"][gpu_type] + a["gpu_node_volume_gb"] * p["ebs_gp3_gb_month"] / h
        )
        lines.append(
            Line(
                "core",
                "GPU spot nodes",
                0.0,
                hours * gpu_hourly,
                f"{hours:g} h of {gpu_type} spot, zero nodes at rest",
            )
        )
    if v["single_host_enabled"]:
        host = v["single_host_instance_type"]
        cost = (
            h * (p["ec2_spot_hourly"][host] + p["public_ipv4_hourly"])
            + v["single_host_volume_gb"] * p["ebs_gp3_gb_month"]
        )
        lines.append(
            Line(
                "core",
                "single host",
                cost,
                0.0,
                f"{host} spot + public IPv4 + {v['single_host_volume_gb']} GB gp3",
            )
        )
    return lines


def price_mlops(v: dict[str, Any], p: dict[str, Any]) -> list[Line]:
    h = p["hours_per_month"]
    a = p["assumptions"]
    lines: list[Line] = []
    if v["redis_enabled"]:
        nodes = 1 + v["redis_replicas"]
        cost = nodes * h * p["elasticache_hourly"][v["redis_node_type"]]
        lines.append(
            Line("mlops", "ElastiCache Redis", cost, 0.0, f"{nodes} x {v['redis_node_type']}")
        )
    if v["prometheus_enabled"]:
        samples = v["prometheus_active_series"] * h * 3600 / v["prometheus_scrape_interval_s"]
        cost = (
            samples / 1e7 * p["amp_per_10m_samples"]
            + a["amp_storage_gb"] * p["amp_storage_gb_month"]
        )
        lines.append(
            Line(
                "mlops",
                "Managed Prometheus",
                cost,
                0.0,
                f"{v['prometheus_active_series']} series"
                f" every {v['prometheus_scrape_interval_s']} s",
            )
        )
    if v["alb_enabled"]:
        cost = h * (p["alb_hourly"] + a["alb_lcus"] * p["alb_lcu_hourly"])
        lines.append(Line("mlops", "ALB", cost, 0.0, f"1 ALB, {a['alb_lcus']} LCU"))
    if v["sagemaker_enabled"]:
        seconds = v["sagemaker_requests_per_month"] * v["sagemaker_ms_per_request"] / 1000
        cost = seconds * v["sagemaker_memory_mb"] / 1024 * p["sagemaker_serverless_gb_second"]
        lines.append(
            Line(
                "mlops",
                "SageMaker Serverless",
                0.0,
                cost,
                f"{v['sagemaker_requests_per_month']:,} requests"
                f" x {v['sagemaker_ms_per_request']} ms, no idle cost",
            )
        )
    return lines


def estimate(env: str, prices: dict[str, Any]) -> list[Line]:
    return price_core(load_variables("core", env), prices) + price_mlops(
        load_variables("mlops", env), prices
    )


def render(env: str, lines: list[Line], prices: dict[str, Any], markdown: bool) -> str:
    fx = prices["aud_per_usd"]
    idle = sum(line.idle_usd for line in lines) * fx
    expected = idle + sum(line.usage_usd for line in lines) * fx
    rows = [
        (
            f"{line.module}: {line.item}",
            f"{line.idle_usd * fx:8.2f}",
            f"{(line.idle_usd + line.usage_usd) * fx:8.2f}",
            line.basis,
        )
        for line in lines
    ]
    rows.append(("total", f"{idle:8.2f}", f"{expected:8.2f}", ""))
    head = ("item", "idle AUD", "expected AUD", "basis")
    out = [
        f"{'### ' if markdown else ''}{env}: "
        f"AUD {idle:.2f}/month idle, AUD {expected:.2f}/month expected"
    ]
    if markdown:
        out += ["", "| " + " | ".join(head) + " |", "|---|---:|---:|---|"]
        out += ["| " + " | ".join(cell.strip() for cell in row) + " |" for row in rows]
    else:
        width = max(len(r[0]) for r in rows)
        out.append(f"  {head[0]:<{width}}  {head[1]:>8}  {head[2]:>12}  {head[3]}")
        out += [f"  {r[0]:<{width}}  {r[1]:>8}  {r[2]:>12}  {r[3]}" for r in rows]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--env", action="append", help="environment under infra/terraform/env (default: all)"
    )
    parser.add_argument(
        "--check", action="store_true", help="fail when hobby idle cost exceeds the target"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="Markdown tables (for a CI job summary)"
    )
    args = parser.parse_args(argv)
    with open(PRICES) as f:
        prices = yaml.safe_load(f)
    envs = args.env or sorted(d.name for d in (TERRAFORM / "env").iterdir() if d.is_dir())
    print(
        f"ReefGuard monthly cost estimate, {prices['region']} list prices"
        f" checked {prices['checked']}, AUD at {prices['aud_per_usd']} per USD"
    )
    totals = {}
    for env in envs:
        lines = estimate(env, prices)
        totals[env] = sum(line.idle_usd for line in lines) * prices["aud_per_usd"]
        print()
        print(render(env, lines, prices, args.markdown))
    if args.check and "hobby" in totals:
        target = prices["hobby_idle_target_aud"]
        verdict = "within" if totals["hobby"] <= target else "ABOVE"
        print(
            f"\nhobby idle AUD {totals['hobby']:.2f}/month is {verdict}"
            f" the target of AUD {target:.2f}"
        )
        return 0 if totals["hobby"] <= target else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
