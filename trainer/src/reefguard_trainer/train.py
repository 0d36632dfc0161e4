"""Training: out-of-fold validation, baselines on the same rows, final fit, ONNX, card.

validate (per fold: physics prior, XGBoost and ViT residuals on it, DHW logistic) -> fit the
combiner on out-of-fold predictions -> threshold on out-of-fold F1 -> per-event skill next to
the baselines -> final members on all rows -> one ONNX graph with parity check -> model card.

Two validations, both on events the fold never trained on:
- leave-one-event-out (the card's table, the combiner, the threshold): hold out a whole
  bleaching year (GCBD years in groups), train on every other year, at every place. This is
  the use: next year's risk at reefs we monitor.
- event x spatial block (training-report.json): the held-out year AND a block of places are
  both unseen; stricter (new year at new reefs), reported next to the baselines too.
"""

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reefguard_trainer import baselines, export, plots, splits
from reefguard_trainer.baselines import PhysicsPrior, fit_physics_prior, prior_margin
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
    prior: np.ndarray
    """the physics prior's margin (logit), from the fold's training rows."""
    p_xgb: np.ndarray
    vit_logit: np.ndarray
    p_dhw_logistic: np.ndarray
    train_rows_seen: dict[str, np.ndarray]
    """fold name -> training row ids (kept for the leakage test)."""
    priors: dict[str, PhysicsPrior] = field(default_factory=dict)


@dataclass(frozen=True)
class Members:
    prior: PhysicsPrior
    xgb: Any
    vit: Any


def select_features(training_set: TrainingSet) -> list[str]:
    """Catalogue features in manifest order that have at least one value in the training set."""
    features = [f for f in training_set.features if training_set.rows[f].notna().any()]
    if baselines.BASELINE_FEATURE not in features:
        raise ValueError(
            f"the training set has no {baselines.BASELINE_FEATURE} values: the physics prior "
            "(and the CRW baseline) need the year-to-date maximum DHW"
        )
    return features


def dhw_column(features: list[str]) -> int:
    return features.index(baselines.BASELINE_FEATURE)


def fit_members(
    training_set: TrainingSet, features: list[str], options: TrainOptions, index: np.ndarray
) -> Members:
    """Physics prior on the rows, then the trees and the ViT as residuals on its margin."""
    x = training_set.matrix(features)[index]
    y = training_set.labels[index]
    dhw = x[:, dhw_column(features)]
    prior = fit_physics_prior(dhw, y)
    margin = prior_margin(prior, dhw)
    tree = fit_xgb(x, y, features, options.xgb, options.seed, options.threads, margin)
    vit = fit_vit(training_set.chips[index], y, options.vit, options.seed, options.threads, margin)
    return Members(prior, tree, vit)


def predict_out_of_fold(
    training_set: TrainingSet,
    features: list[str],
    options: TrainOptions,
    folds: list[splits.Fold] | None = None,
    progress: str = "",
) -> OutOfFold:
    x = training_set.matrix(features)
    y = training_set.labels
    dhw = x[:, dhw_column(features)]
    n = len(y)
    oof = OutOfFold(
        np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n), {}
    )
    row_ids = training_set.rows["row_id"].to_numpy()
    folds = splits.make_event_folds(training_set.rows) if folds is None else folds
    for k, fold in enumerate(folds):
        started = time.perf_counter()
        train, test = fold.train, fold.test
        members = fit_members(training_set, features, options, train)
        oof.prior[test] = prior_margin(members.prior, dhw[test])
        oof.p_xgb[test] = predict_xgb(members.xgb, x[test])
        oof.vit_logit[test] = predict_vit_logit(
            members.vit, training_set.chips[test], options.threads
        )
        logistic = baselines.fit_dhw_logistic(dhw[train], y[train])
        oof.p_dhw_logistic[test] = baselines.predict_dhw_logistic(logistic, dhw[test])
        oof.train_rows_seen[fold.name] = row_ids[train]
        oof.priors[fold.name] = members.prior
        if progress:
            print(
                f"{progress} fold {k + 1}/{len(folds)} {fold.name}: {len(train)} train / "
                f"{len(test)} held out, {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
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
    groups = splits.assign_event_groups(rows["event"]).to_numpy()
    oof = predict_out_of_fold(training_set, features, options, progress="leave-one-event-out")
    combiner = fit_combiner(oof.prior, oof.p_xgb, oof.vit_logit, y, groups)
    risk = predict_ensemble(combiner, oof.prior, oof.p_xgb, oof.vit_logit)
    threshold = choose_threshold(risk, y)
    event_table = score_events(rows, risk, oof.p_dhw_logistic, threshold)
    blocked = score_spatial_blocks(training_set, features, options, combiner, threshold)

    x = training_set.matrix(features)
    final = fit_members(training_set, features, options, np.arange(len(y)))
    column = dhw_column(features)
    chip_shape = tuple(training_set.chips.shape[1:])
    graph = export.build_ensemble_graph(
        final.xgb, final.vit, combiner, final.prior, column, len(features), chip_shape
    )
    model_path = out_dir / MODEL_FILE
    model_bytes = export.save_model(graph, model_path)
    sample = np.random.default_rng(options.seed).permutation(len(y))[:PARITY_ROWS]
    native = export.predict_native(
        final.xgb,
        final.vit,
        combiner,
        final.prior,
        column,
        x[sample],
        training_set.chips[sample],
        options.threads,
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
                    final.vit.mean.flatten().tolist(), final.vit.std.flatten().tolist(), strict=True
                )
            ],
        },
        threshold=threshold,
        ensemble=describe_ensemble(combiner, final.prior),
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
                "leave-one-event-out: each event group held out whole (GBR 1998, GBR 2002, "
                f"GCBD years in groups of {splits.GCBD_YEARS_PER_GROUP}), trained on all other "
                "events; combiner, calibration and threshold chosen on these out-of-fold "
                "predictions. Stricter event x spatial-block scores (new year at new reefs, "
                f"{options.spatial_blocks} blocks) are in training-report.json"
            ),
            "overall": {
                "model": compute_metric_set(risk, y, threshold),
                "crw_baseline": baselines.score_crw_rule(
                    rows[baselines.BASELINE_FEATURE].to_numpy(), y
                ),
            },
            "held_out_events": event_table,
        },
        training_seconds=round(time.perf_counter() - started, 3),
    )
    (out_dir / "model-card.json").write_text(json.dumps(card, indent=2) + "\n")
    (out_dir / "training-report.json").write_text(
        json.dumps(
            {
                "parity_max_abs_diff": parity,
                "bleach_risk_p90": compute_bleach_risk_p90(risk),
                "physics_prior": asdict(final.prior),
                "fold_priors": {k: asdict(v) for k, v in oof.priors.items()},
                "combiner": asdict(combiner),
                "reliability": plots.reliability_table(risk, y),
                "event_x_spatial_block": blocked,
                "options": asdict(options),
            },
            indent=2,
        )
        + "\n"
    )
    draw_plots(rows, risk, y, event_table, out_dir / "plots")
    return card


def score_spatial_blocks(
    training_set: TrainingSet,
    features: list[str],
    options: TrainOptions,
    combiner: Combiner,
    threshold: float,
) -> dict[str, Any]:
    """The stricter check: out-of-fold over (event group x spatial block), the same combiner
    and threshold; per event next to the baselines on the same rows."""
    if options.spatial_blocks < 2:
        return {"blocks": options.spatial_blocks, "held_out_events": []}
    folds = splits.make_folds(training_set.rows, options.spatial_blocks)
    oof = predict_out_of_fold(
        training_set, features, options, folds, progress="event x spatial block"
    )
    risk = predict_ensemble(combiner, oof.prior, oof.p_xgb, oof.vit_logit)
    y = training_set.labels
    return {
        "blocks": options.spatial_blocks,
        "overall": compute_metric_set(risk, y, threshold),
        "held_out_events": score_events(training_set.rows, risk, oof.p_dhw_logistic, threshold),
    }


def describe_ensemble(combiner: Combiner, prior: PhysicsPrior) -> dict[str, Any]:
    physics = "physics only (the learned members add nothing out of fold); " * int(
        combiner.physics_only
    )
    return {
        "members": ["physics_prior", "xgboost", "vit"],
        "weights": [1.0, combiner.xgb_weight, combiner.vit_weight],
        "calibration": (
            f"{physics}prior = {prior.intercept:.6g} + {prior.slope:.6g} * "
            f"{baselines.BASELINE_FEATURE} (NaN -> 0; slope floored: "
            f"{str(prior.slope_floored).lower()}); platt: risk = sigmoid({combiner.slope:.6g} * "
            "(prior + w_xgb * logit(p_xgb) + w_vit * vit_logit) + "
            f"{combiner.intercept:.6g}), fitted on out-of-fold predictions"
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
