"""GitHub workflows (actionlint checks their syntax and shell in static-checks.sh): each
calls the README's commands and the scripts tested here, with pinned actions and the
least permissions."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = ROOT / ".github/workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def run_lines(workflow: dict) -> str:
    return "\n".join(
        step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]
    )


@pytest.mark.parametrize("name", ["model-ci.yml", "model-approval.yml", "infra-plan.yml"])
def test_workflow_is_read_only_by_default_with_pinned_actions(name):
    workflow = load(name)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert job["timeout-minutes"] <= 60
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]


def test_model_ci_tests_builds_trains_compares_and_bumps():
    workflow = load("model-ci.yml")
    jobs = workflow["jobs"]
    assert list(jobs) == ["test", "images", "train-and-compare", "bump-deploy"]
    test_runs = run_lines({"jobs": {"t": jobs["test"]}})
    assert "make bootstrap" in test_runs and "make check" in test_runs and "make test" in test_runs
    components = {entry["component"] for entry in jobs["images"]["strategy"]["matrix"]["include"]}
    for component in components:
        assert (ROOT / f"infra/docker/{component}.Dockerfile").exists()
    assert components == {"edge-agent", "stream-processor", "serving", "trainer"}
    edge = next(
        e for e in jobs["images"]["strategy"]["matrix"]["include"] if e["component"] == "edge-agent"
    )
    assert "linux/arm64" in edge["platforms"]
    train = run_lines({"jobs": {"t": jobs["train-and-compare"]}})
    assert "./reefguard train --sample-data" in train
    assert train.count("./reefguard evaluate --observations") == 2
    assert "infra/ci/fetch-model.ts --alias champion" in train
    assert "infra/ci/compare_metrics.py production.json candidate.json --tolerance" in train
    assert workflow["env"]["METRIC_TOLERANCE"] == "0.02"
    assert (ROOT / workflow["env"]["OBSERVATIONS"]).exists()
    assert jobs["bump-deploy"]["needs"] == ["images", "train-and-compare"]
    assert "infra/ci/bump-image-tag.sh prod" in run_lines({"jobs": {"t": jobs["bump-deploy"]}})
    assert jobs["bump-deploy"]["permissions"]["contents"] == "write"


def test_model_approval_runs_the_gate_on_list_changes_and_hourly():
    workflow = load("model-approval.yml")
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert triggers["pull_request"]["paths"] == ["models/**"]
    assert "schedule" in triggers
    runs = run_lines(workflow)
    assert "infra/ci/check_model_approval.py --mlflow" in runs
    assert "infra/ci/check_model_approval.py --local-registry" in runs


def test_infra_plan_runs_static_checks_and_the_cost_report():
    runs = run_lines(load("infra-plan.yml"))
    assert "bash infra/ci/static-checks.sh" in runs
    assert "infra/cost/estimate.py --markdown --check" in runs
