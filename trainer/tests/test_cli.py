"""The CLI stages as users run them: `python -m reefguard_trainer STAGE` in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from reefguard_trainer import contracts
from reefguard_trainer.tune import SEARCH_SPACE


def run_stage(*args: str, state_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reefguard_trainer", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "REEFGUARD_STATE_DIR": str(state_dir), **env},
    )


def test_train_stores_the_first_as_champion_later_ones_without_alias_and_registers_in_mlflow(
    training_set_dir: Path, tmp_path: Path
) -> None:
    first = run_stage(
        "train", "--training-set", str(training_set_dir), "--quick", "--json", state_dir=tmp_path
    )
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["aliases"] == {"champion": "1"}
    assert summary["mlflow"]["registered_version"] == "1"
    store = tmp_path / "models" / "reefguard-bleaching-risk"
    contracts.validate("model-card", json.loads((store / "1" / "model-card.json").read_text()))
    assert (tmp_path / "mlflow" / "mlflow.db").exists()

    second = run_stage(
        "train",
        "--training-set",
        str(training_set_dir),
        "--quick",
        "--no-mlflow",
        state_dir=tmp_path,
    )
    assert second.returncode == 0, second.stderr
    assert "gbr-1998" in second.stdout and "crw_baseline" in second.stdout
    # The second version is stored, but only the promotion gates may make it challenger.
    assert (store / "2" / "model-card.json").exists()
    aliases = json.loads((store / "aliases.json").read_text())
    assert aliases == {"champion": "1"}


def test_train_refuses_later_years_the_products_do_not_cover(
    training_set_dir: Path, tmp_path: Path
) -> None:
    result = run_stage(
        "train",
        "--training-set",
        str(training_set_dir),
        "--quick",
        "--later-years",
        "2016,2019",
        state_dir=tmp_path,
    )
    assert result.returncode != 0
    assert "no annual maximum DHW for [2019]" in result.stderr
    assert "1985-2017" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "models").exists()


def test_train_without_a_training_set_says_how_to_make_one(tmp_path: Path) -> None:
    result = run_stage("train", "--quick", state_dir=tmp_path)
    assert result.returncode != 0
    assert "features export" in result.stderr


def test_katib_manifest_comes_from_the_search_space(tmp_path: Path) -> None:
    result = run_stage("katib", "--trials", "50", state_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    experiment = yaml.safe_load(result.stdout)
    assert experiment["kind"] == "Experiment"
    assert experiment["spec"]["algorithm"]["algorithmName"] == "bayesianoptimization"
    assert [p["name"] for p in experiment["spec"]["parameters"]] == [k.name for k in SEARCH_SPACE]
    checked_in = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "infra" / "katib" / "experiment.yaml").read_text()
    )
    assert checked_in == experiment


def test_katib_trial_prints_the_objective(training_set_dir: Path, tmp_path: Path) -> None:
    knobs = {
        "xgb_n_estimators": "30",
        "xgb_max_depth": "3",
        "xgb_learning_rate": "0.1",
        "xgb_min_child_weight": "2",
        "xgb_subsample": "0.8",
        "vit_layers": "1",
        "vit_heads": "2",
        "vit_patch_px": "4",
    }
    args = [f"--{k}={v}" for k, v in knobs.items()]
    result = run_stage("trial", "--training-set", str(training_set_dir), *args, state_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    value = float(result.stdout.strip().rpartition("auroc=")[2])
    assert 0.5 < value <= 1


def test_help_does_not_load_the_heavy_libraries(tmp_path: Path) -> None:
    for stage in ("train", "tune", "trial"):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "reefguard_trainer", stage, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-500:]
        assert "--training-set" in result.stdout
        imported = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines()}
        assert "reefguard_trainer.contracts" in imported  # importtime did report
        heavy = {"torch", "xgboost", "optuna", "mlflow", "onnxruntime", "sklearn"} & imported
        assert not heavy, f"`{stage} --help` imports {sorted(heavy)}"
