"""The scripts the workflows call: the metric comparison with production (tolerance 0.02),
the model-approval gate (against a local store and an MLflow-shaped HTTP server), and the
image-tag bump of the deploy values."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import ROOT, build

sys.path.insert(0, str(ROOT / "infra/ci"))
import check_model_approval
import compare_metrics


def evaluation(auroc=0.95, pr_auc=0.8, f1=0.86, brier=0.08, n=500, positives=120):
    return {
        "n": n,
        "positives": positives,
        "model": {"auroc": auroc, "pr_auc": pr_auc, "f1": f1, "brier": brier},
        "crw_baseline": {"auroc": 0.9, "f1": 0.7},
    }


def test_candidate_within_tolerance_passes_and_beyond_fails():
    production = evaluation()
    ok = compare_metrics.compare(production, evaluation(auroc=0.931, f1=0.841, brier=0.099), 0.02)
    assert all(passed for *_, passed in ok)
    worse = {
        m: passed
        for m, _, _, passed in compare_metrics.compare(
            production, evaluation(f1=0.835, brier=0.101), 0.02
        )
    }
    assert worse == {"auroc": True, "pr_auc": True, "f1": False, "brier": False}


def test_comparison_refuses_different_evaluation_slices():
    with pytest.raises(ValueError, match="same evaluation slice"):
        compare_metrics.compare(evaluation(n=500), evaluation(n=499), 0.02)


def test_compare_cli_exit_codes(tmp_path):
    prod, good, bad = tmp_path / "p.json", tmp_path / "g.json", tmp_path / "b.json"
    prod.write_text(json.dumps(evaluation()))
    good.write_text(json.dumps(evaluation(auroc=0.96)))
    bad.write_text(json.dumps(evaluation(auroc=0.9)))
    script = ROOT / "infra/ci/compare_metrics.py"
    assert (
        subprocess.run(
            [sys.executable, script, prod, good], capture_output=True, check=False
        ).returncode
        == 0
    )
    result = subprocess.run(
        [sys.executable, script, prod, bad], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and "auroc" in result.stdout and "WORSE" in result.stdout


@pytest.fixture
def approved(tmp_path):
    path = tmp_path / "approved_models.txt"
    path.write_text(
        "# reviewed\nreefguard-bleaching-risk 3 abc123\nreefguard-bleaching-risk 4  # canary\n"
    )
    return path


def run_approval(*args):
    result = subprocess.run(
        [sys.executable, ROOT / "infra/ci/check_model_approval.py", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_approval_reads_the_same_list_format_as_serving(approved):
    assert check_model_approval.read_approved(approved) == {
        ("reefguard-bleaching-risk", "3"),
        ("reefguard-bleaching-risk", "4"),
    }
    real = check_model_approval.read_approved(ROOT / "models/approved_models.txt")
    assert isinstance(real, set)


def test_approval_against_the_local_store(tmp_path, approved):
    store = tmp_path / "models"
    (store / "reefguard-bleaching-risk").mkdir(parents=True)
    aliases = store / "reefguard-bleaching-risk" / "aliases.json"
    aliases.write_text(json.dumps({"champion": "3", "challenger": "4"}))
    assert run_approval("--local-registry", store, "--approved", approved)[0] == 0
    aliases.write_text(json.dumps({"champion": "3", "challenger": "5"}))
    code, out = run_approval("--local-registry", store, "--approved", approved)
    assert code == 1 and "challenger" in out and "5 is not in" in out
    aliases.unlink()
    code, out = run_approval("--local-registry", store, "--approved", approved)
    assert code == 0 and out.count("not set") == 2


class FakeMlflow(BaseHTTPRequestHandler):
    """The one MLflow REST route the check uses, answering like MLflow 2.x/3.x does."""

    aliases: ClassVar[dict[str, str]] = {}
    tokens: ClassVar[list[str | None]] = []

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        FakeMlflow.tokens.append(self.headers.get("Authorization"))
        alias = query["alias"][0]
        if url.path != "/api/2.0/mlflow/registered-models/alias" or alias not in self.aliases:
            body = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"alias {alias} not found"}
            self.send_response(404)
        else:
            body = {
                "model_version": {
                    "name": query["name"][0],
                    "version": self.aliases[alias],
                    "aliases": [alias],
                }
            }
            self.send_response(200)
        data = json.dumps(body).encode()
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def mlflow():
    server = HTTPServer(("127.0.0.1", 0), FakeMlflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_approval_against_mlflow_rest(mlflow, approved, monkeypatch):
    FakeMlflow.aliases = {"champion": "3"}
    FakeMlflow.tokens = []
    monkeypatch.setenv("REEFGUARD_MLFLOW_TRACKING_TOKEN", "t0ken")
    code, out = run_approval("--mlflow", mlflow, "--approved", approved)
    assert (
        code == 0 and "champion   reefguard-bleaching-risk 3" in out and "challenger not set" in out
    )
    assert FakeMlflow.tokens == ["Bearer t0ken", "Bearer t0ken"]
    assert "t0ken" not in out
    FakeMlflow.aliases = {"champion": "3", "challenger": "9"}
    code, out = run_approval("--mlflow", mlflow, "--approved", approved)
    assert code == 1 and "FAIL  challenger reefguard-bleaching-risk 9" in out


def test_approval_fails_loudly_when_mlflow_is_down(approved):
    code, out = run_approval("--mlflow", "http://127.0.0.1:9", "--approved", approved)
    assert code == 1 and "unreachable" in out


def test_bump_image_tag_changes_only_the_tags(tmp_path):
    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "infra/k8s", tree / "infra/k8s")
    (tree / "infra/ci").mkdir(parents=True)
    shutil.copy(ROOT / "infra/ci/bump-image-tag.sh", tree / "infra/ci/")
    before = (tree / "infra/k8s/overlays/prod/kustomization.yaml").read_text()
    result = subprocess.run(
        ["bash", tree / "infra/ci/bump-image-tag.sh", "prod", "3f2c1ab"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 images now tagged 3f2c1ab" in result.stdout
    after = (tree / "infra/k8s/overlays/prod/kustomization.yaml").read_text()
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 3 and all(b == "    newTag: 3f2c1ab" for _, b in changed)
    images = {
        c["image"]
        for o in build(tree / "infra/k8s/overlays/prod")
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images and all(i.endswith(":3f2c1ab") for i in images)
    bad = subprocess.run(
        ["bash", tree / "infra/ci/bump-image-tag.sh", "prod", "a b;rm"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "not a valid image tag" in bad.stderr
