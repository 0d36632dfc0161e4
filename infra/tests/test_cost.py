"""The cost estimate: numbers follow from the Terraform variables and the price table, and
the hobby environment stays within the idle target."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

sys.path.insert(0, str(ROOT / "infra/cost"))
import estimate


@pytest.fixture(scope="module")
def prices():
    return yaml.safe_load((ROOT / "infra/cost/prices.yaml").read_text())


def idle_aud(lines, prices):
    return sum(line.idle_usd for line in lines) * prices["aud_per_usd"]


def test_hobby_idle_is_within_the_target_and_has_no_cluster(prices):
    lines = estimate.estimate("hobby", prices)
    items = {line.item for line in lines}
    assert "EKS control plane" not in items and "NAT gateway" not in items
    assert "single host" in items
    assert idle_aud(lines, prices) <= prices["hobby_idle_target_aud"]
    assert idle_aud(lines, prices) > 5, "an estimate of nothing would pass the target too"


def test_prod_pays_for_the_cluster_at_the_list_price(prices):
    lines = {line.item: line for line in estimate.estimate("prod", prices)}
    assert lines["EKS control plane"].idle_usd == pytest.approx(730 * 0.10)
    # 2 x t4g.large for 730 h plus 20 GB gp3 each.
    assert lines["system nodes"].idle_usd == pytest.approx(2 * (730 * 0.0848 + 20 * 0.096))
    # GPU nodes cost nothing at rest and 12 h of g4dn.xlarge spot (+ volume) when used.
    assert lines["GPU spot nodes"].idle_usd == 0
    assert lines["GPU spot nodes"].usage_usd == pytest.approx(12 * (0.262 + 100 * 0.096 / 730))
    assert lines["Managed Prometheus"].idle_usd == pytest.approx(
        5000 * 730 * 3600 / 30 / 1e7 * 0.90 + 2 * 0.03
    )


def test_variables_come_from_tfvars_over_defaults():
    core = estimate.load_variables("core", "prod")
    assert core["cluster_enabled"] is True and core["system_node_count"] == 2
    assert core["region"] == "ap-southeast-2", "a default where tfvars is silent"
    assert estimate.load_variables("core", "hobby")["cluster_enabled"] is False


def test_a_typo_in_tfvars_is_an_error(tmp_path, monkeypatch):
    env = tmp_path / "env" / "typo"
    env.mkdir(parents=True)
    (env / "core.tfvars").write_text("clustr_enabled = true\n")
    for module in ("core", "mlops"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "variables.tf").write_text(
            (estimate.TERRAFORM / module / "variables.tf").read_text()
        )
    monkeypatch.setattr(estimate, "TERRAFORM", tmp_path)
    with pytest.raises(SystemExit, match="clustr_enabled"):
        estimate.load_variables("core", "typo")


def test_cli_prints_both_environments_and_checks_the_target():
    python = sys.executable
    result = subprocess.run(
        [python, "infra/cost/estimate.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hobby: AUD" in result.stdout and "prod: AUD" in result.stdout
    assert "within the target of AUD 20.00" in result.stdout
    markdown = subprocess.run(
        [python, "infra/cost/estimate.py", "--markdown", "--env", "prod"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "| core: EKS control plane | 113.15 | 113.15 |" in markdown.stdout
