"""Training: out-of-fold validation, baselines on the same rows, final fit, ONNX, card.

validate (per fold: XGBoost, ViT, DHW logistic) -> fit the combiner on out-of-fold
predictions -> threshold on out-of-fold F1 -> per-event skill next to the baselines -> final
members on all rows -> one ONNX graph with parity check -> model card.
"""

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reefguard_trainer import baselines, export, plots, splits
from reefguard_trainer.card import build_card, describe_features, read_code_version, sha256_file
from reefguard_trainer.data import TrainingSet
from reefguard_trainer.ensemble import Combiner, fit_combiner, predict_ensemble
from reefguard_trainer.metrics import choose_threshold, compute_bleach_risk_p90, compute_metric_set
from reefguard_trainer.vit import VitParams, fit_vit, predict_vit_logit
from reefguard_trainer.xgb import XgbParams, fit_xgb, predict_xgb

MODEL_FILE = "model.onnx"
PARITY_ROWS = 2000
REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class TrainOptions:
    xgb: XgbParams = field(default_factory=XgbParams)
    vit: VitParams = field(default_factory=VitParams)
    seed: int = 7
    threads: int = 2
    spatial_blocks: int = 2


@dataclass
class OutOfFold:
    p_xgb: np.ndarray
    vit_logit: np.ndarray
    p_dhw_logistic: np.ndarray
    train_rows_seen: dict[str, np.ndarray]
    """fold name -> training row ids (kept for the leakage test)."""


def select_features(training_set: TrainingSet) -> list[str]:
    """Catalogue features in manifest order that have at least one value in the training set."""
    return [f for f in training_set.features if training_set.rows[f].notna().any()]


def predict_out_of_fold(
    training_set: TrainingSet, features: list[str], options: TrainOptions
) -> OutOfFold:
    x = training_set.matrix(features)
    y = training_set.labels
    dhw = training_set.rows[baselines.BASELINE_FEATURE].to_numpy()
    n = len(y)
    oof = OutOfFold(np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n), {})
    row_ids = training_set.rows["row_id"].to_numpy()
    for fold in splits.make_folds(training_set.rows, options.spatial_blocks):
        train, test = fold.train, fold.test
        model = fit_xgb(x[train], y[train], features, options.xgb, options.seed, options.threads)
        oof.p_xgb[test] = predict_xgb(model, x[test])
        vit = fit_vit(
            training_set.chips[train], y[train], options.vit, options.seed, options.threads
        )
        oof.vit_logit[test] = predict_vit_logit(vit, training_set.chips[test], options.threads)
        logistic = baselines.fit_dhw_logistic(dhw[train], y[train])
        oof.p_dhw_logistic[test] = baselines.predict_dhw_logistic(logistic, dhw[test])
        oof.train_rows_seen[fold.name] = row_ids[train]
    return oof


def score_events(
    rows: Any, risk: np.ndarray, p_logistic: np.ndarray, threshold: float
) -> list[dict[str, Any]]:
    """Model, CRW rule and DHW logistic on exactly the same rows of each held-out event."""
    y = rows["label"].to_numpy()
    dhw = rows[baselines.BASELINE_FEATURE].to_numpy()
    logistic_threshold = choose_threshold(p_logistic, y)
    events = []
    for event in sorted(rows["event"].unique()):
        i = (rows["event"] == event).to_numpy()
        events.append(
            {
                "event": event,
                "model": compute_metric_set(risk[i], y[i], threshold),
                "crw_baseline": baselines.score_crw_rule(dhw[i], y[i]),
                "dhw_logistic": compute_metric_set(p_logistic[i], y[i], logistic_threshold),
            }
        )
    return events


def train(training_set: TrainingSet, out_dir: Path, version: str, options: TrainOptions) -> dict:
    """Trains, exports, writes `out_dir/{model.onnx, model-card.json, plots}`; returns the card."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    features = select_features(training_set)
    rows, y = training_set.rows, training_set.labels
    oof = predict_out_of_fold(training_set, features, options)
    combiner = fit_combiner(oof.p_xgb, oof.vit_logit, y, rows["event"].to_numpy())
    risk = predict_ensemble(combiner, oof.p_xgb, oof.vit_logit)
    threshold = choose_threshold(risk, y)
    events = score_events(rows, risk, oof.p_dhw_logistic, threshold)

    x = training_set.matrix(features)
    final_xgb = fit_xgb(x, y, features, options.xgb, options.seed, options.threads)
    final_vit = fit_vit(training_set.chips, y, options.vit, options.seed, options.threads)
    chip_shape = tuple(training_set.chips.shape[1:])
    graph = export.build_ensemble_graph(final_xgb, final_vit, combiner, len(features), chip_shape)
    model_path = out_dir / MODEL_FILE
    model_bytes = export.save_model(graph, model_path)
    sample = np.random.default_rng(options.seed).permutation(len(y))[:PARITY_ROWS]
    native = export.predict_native(
        final_xgb, final_vit, combiner, x[sample], training_set.chips[sample], options.threads
    )
    parity = export.check_parity(
        native, export.run_onnx(model_bytes, x[sample], training_set.chips[sample])
    )

    chip = training_set.manifest["chip"]
    card = build_card(
        version=version,
        code_version=read_code_version(REPO_ROOT),
        data_version=training_set.data_version,
        label=training_set.manifest["label"],
        features=describe_features(x, features),
        chip={
            **chip,
            "normalisation": [
                {"mean": float(m), "std": float(s)}
                for m, s in zip(
                    final_vit.mean.flatten().tolist(), final_vit.std.flatten().tolist(), strict=True
                )
            ],
        },
        threshold=threshold,
        ensemble=describe_ensemble(combiner),
        files={
            "model": {
                "path": MODEL_FILE,
                "sha256": sha256_file(model_path),
                "input": export.FEATURES_INPUT,
                "output": export.RISK_OUTPUT,
            }
        },
        metrics={
            "validation": (
                "out-of-fold: each (event group, spatial block) held out, trained on rows in "
                "neither; GBR events whole, GCBD years in groups of "
                f"{splits.GCBD_YEARS_PER_GROUP}, "
                f"{options.spatial_blocks} spatial blocks"
            ),
            "overall": {
                "model": compute_metric_set(risk, y, threshold),
                "crw_baseline": baselines.score_crw_rule(
                    rows[baselines.BASELINE_FEATURE].to_numpy(), y
                ),
            },
            "held_out_events": events,
        },
        training_seconds=round(time.perf_counter() - started, 3),
    )
    (out_dir / "model-card.json").write_text(json.dumps(card, indent=2) + "\n")
    (out_dir / "training-report.json").write_text(
        json.dumps(
            {
                "parity_max_abs_diff": parity,
                "bleach_risk_p90": compute_bleach_risk_p90(risk),
                "options": asdict(options),
            },
            indent=2,
        )
        + "\n"
    )
    draw_plots(rows, risk, y, events, out_dir / "plots")
    return card


def describe_ensemble(combiner: Combiner) -> dict[str, Any]:
    return {
        "members": ["xgboost", "vit"],
        "weights": [combiner.xgb_weight, combiner.vit_weight],
        "calibration": (
            f"platt: risk = sigmoid({combiner.slope:.6g} * (w_xgb * logit(p_xgb) + "
            f"w_vit * vit_logit) + {combiner.intercept:.6g}), fitted on out-of-fold predictions"
        ),
    }


def draw_plots(rows: Any, risk: np.ndarray, y: np.ndarray, events: list, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    plots.plot_reliability(risk, y, folder / "reliability.png")
    plots.plot_event_skill(events, folder / "event-skill.png")
    gbr = (rows["source"] == "gbr-aerial").to_numpy()
    plots.plot_risk_map(
        rows["lon"].to_numpy()[gbr],
        rows["lat"].to_numpy()[gbr],
        risk[gbr],
        folder / "risk-map.png",
    )
