"""Several tuning workers on one PostgreSQL study, and MLflow tracking on PostgreSQL, against a
private PostgreSQL 15 started for this module."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import Postgres, available, start_postgres

from reefguard_trainer.search_space import SEARCH_SPACE, STUDY_NAME

pytestmark = pytest.mark.skipif(not available(), reason="PostgreSQL binaries not on PATH")


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with start_postgres() as server:
        yield server


def trainer(*args: str, state_dir: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reefguard_trainer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "REEFGUARD_STATE_DIR": str(state_dir), **env},
    )


def test_two_tuning_workers_share_one_postgres_study(
    postgres: Postgres, training_set_dir: Path, tmp_path: Path
) -> None:
    storage = postgres.create_database("optuna")
    args = ["tune", "--training-set", str(training_set_dir), "--trials", "3", "--threads", "1"]
    workers = [
        trainer(*args, "--seed", str(seed), state_dir=tmp_path, REEFGUARD_OPTUNA_STORAGE=storage)
        for seed in (1, 2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [o[1][-800:] for o in outputs]
    import optuna

    study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(6))  # no duplicate trial numbers
    by_worker: dict[str, int] = {}
    for t in study.trials:
        by_worker[t.user_attrs["worker"]] = by_worker.get(t.user_attrs["worker"], 0) + 1
    assert sorted(by_worker.values()) == [3, 3]  # both workers contributed their trials
    assert {w.pid for w in workers} == {int(k.rpartition(":")[2]) for k in by_worker}
    assert study.best_value > 0.5
    assert set(study.best_params) == {k.name for k in SEARCH_SPACE}
    # each worker's summary saw the shared study, not only its own trials
    assert max(json.loads(o[0])["trials"] for o in outputs) == 6


def test_mlflow_tracks_and_registers_on_postgres(
    postgres: Postgres, training_set_dir: Path, tmp_path: Path
) -> None:
    tracking = postgres.create_database("mlflow")
    run = trainer(
        "train",
        "--training-set",
        str(training_set_dir),
        "--quick",
        "--json",
        state_dir=tmp_path,
        REEFGUARD_MLFLOW_TRACKING_URI=tracking,
    )
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err[-2000:]
    summary = json.loads(out)
    assert summary["mlflow"]["registered_version"] == "1"
    assert not (tmp_path / "mlflow" / "mlflow.db").exists()  # nothing went to SQLite
    import psycopg

    with psycopg.connect(postgres.conninfo("mlflow")) as connection:
        versions = connection.execute("SELECT name, version, run_id FROM model_versions").fetchall()
        metrics = connection.execute(
            "SELECT key FROM metrics WHERE run_uuid = %s", (summary["mlflow"]["run_id"],)
        ).fetchall()
    assert versions == [("reefguard-bleaching-risk", 1, summary["mlflow"]["run_id"])]
    assert {"model_auroc", "crw_baseline_auroc", "threshold"} <= {m[0] for m in metrics}
