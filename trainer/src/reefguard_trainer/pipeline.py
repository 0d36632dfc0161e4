"""The `train` stage end to end: training set -> (optional tuning) -> train -> model store
and MLflow. Shared by the CLI and the retrain worker."""

import json
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reefguard_trainer import registry
from reefguard_trainer.card import MODEL_NAME
from reefguard_trainer.data import load_training_set
from reefguard_trainer.train import REPO_ROOT, TrainOptions, select_features, train
from reefguard_trainer.tune import to_params, tune


@dataclass(frozen=True)
class Settings:
    """Parsed once from the environment in __main__ and passed down."""

    state_dir: Path
    mlflow_tracking_uri: str
    optuna_storage: str
    nats_url: str


def export_sample_training_set(out_dir: Path) -> Path:
    """Runs the TypeScript backfill (`./reefguard features export --sample-data`)."""
    subprocess.run(
        [
            str(REPO_ROOT / "reefguard"),
            "features",
            "export",
            "--sample-data",
            "--out",
            str(out_dir),
        ],
        check=True,
        cwd=REPO_ROOT,
    )
    return out_dir


def report_metrics(path: Path) -> dict[str, float]:
    """MLflow metrics from the training report: AUROC per event x spatial block (model and
    CRW rule) and the later years' rank agreement of the risk with DHW (no labels)."""
    report = json.loads(path.read_text())
    metrics = {}
    for unit in report["event_x_spatial_block"].get("held_out_blocks", []):
        name = unit["event"].replace("/", "_")
        for who in ("model", "crw_baseline"):
            if unit[who]["auroc"] is not None:
                metrics[f"block_auroc_{who}_{name}"] = unit[who]["auroc"]
    for year in report.get("later_years", []):
        for key in ("spearman", "kendall_tau_b", "inverted_pair_share"):
            metrics[f"later_{year['year']}_{key}"] = year["model"][key]
            metrics[f"later_{year['year']}_learned_parts_{key}"] = year["learned parts"][key]
    return metrics


def run_training(
    settings: Settings,
    training_set_dir: Path,
    options: TrainOptions,
    trials: int = 0,
    use_mlflow: bool = True,
    extra_tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    training_set = load_training_set(training_set_dir)
    if trials > 0:
        study = tune(
            training_set,
            select_features(training_set),
            settings.optuna_storage,
            trials,
            options.seed,
            options.threads,
        )
        xgb, vit = to_params(study.best_params)
        vit = type(vit)(
            **{**vit.__dict__, "epochs": options.vit.epochs, "max_rows": options.vit.max_rows}
        )
        options = replace(options, xgb=xgb, vit=vit)
    version = registry.next_version(settings.state_dir, MODEL_NAME)
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = Path(scratch) / version
        card = train(training_set, model_dir, version, options)
        result: dict[str, Any] = {"version": version, "card": card}
        if use_mlflow:
            overall = card["metrics"]["overall"]
            metrics = {
                f"{who}_{k}": v
                for who in ("model", "crw_baseline")
                for k, v in overall[who].items()
                if isinstance(v, float)
            }
            for event in card["metrics"]["held_out_events"]:
                if event["model"]["auroc"] is not None:
                    metrics[f"auroc_{event['event']}"] = event["model"]["auroc"]
            metrics.update(report_metrics(model_dir / "training-report.json"))
            result["mlflow"] = registry.log_to_mlflow(
                settings.mlflow_tracking_uri,
                settings.state_dir,
                MODEL_NAME,
                model_dir,
                params={
                    "xgb": str(options.xgb),
                    "vit": str(options.vit),
                    "seed": options.seed,
                    "features": ",".join(f["name"] for f in card["features"]),
                    "data_version": card["data_version"],
                },
                metrics={
                    **metrics,
                    "threshold": card["threshold"],
                    "training_seconds": card["training_seconds"],
                },
                tags={
                    "data_version": card["data_version"],
                    "code_version": card["code_version"],
                    "local_version": version,
                    **(extra_tags or {}),
                },
                plots=sorted((model_dir / "plots").glob("*.png")),
            )
        result["aliases"] = registry.store_model(settings.state_dir, MODEL_NAME, version, model_dir)
    result["model_dir"] = str(registry.model_root(settings.state_dir, MODEL_NAME) / version)
    return result
