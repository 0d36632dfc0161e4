"""Training: out-of-fold validation, baselines on the same rows, final fit, ONNX, card.

validate (per fold: physics prior, XGBoost and ViT residuals on it, DHW logistic), twice:
leave-one-event-out and event x spatial block -> the combiner keeps the physics unless a
learned combination loses no held-out event and no event x block -> Platt calibration and
the threshold (a CRW alert level) -> per-event skill next to the baselines -> final members on
all rows -> one ONNX graph with parity check -> model card, training report, skill page, and
the label-free later-year check (later_years.py).

Two validations, both on events the fold never trained on:
- leave-one-event-out: hold out a whole bleaching year (GCBD years in groups), train on
  every other year, at every place: next year's risk at reefs we monitor.
- event x spatial block: the held-out year AND a block of places are both unseen (a new
  year at new reefs). In 1998 the southern block is the one place where DHW alone ranks the
  sites well (0.92, like 2016's 0.93), and it is where learned modifiers lose.

The ranking of the out-of-fold scores is each fold's own; the calibrated risk the tables
report puts the final prior (two parameters fitted on all rows, the shipped one) under the
out-of-fold learned parts, because each fold's prior carries its training years' base rate
and pooled those offsets would rank events, not heat. F1, Brier and Peirce therefore use an
in-sample calibration (four parameters); AUROC within an event does not depend on it.
"""

import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reefguard_trainer import baselines, export, later_years, plots, splits
from reefguard_trainer.baselines import PhysicsPrior, fit_physics_prior, prior_margin
from reefguard_trainer.card import build_card, describe_features, read_code_version, sha256_file
from reefguard_trainer.data import TrainingSet
from reefguard_trainer.ensemble import (
    Combiner,
    OutOfFoldSet,
    choose_weights,
    combine_logits,
    event_aurocs,
    fit_combiner,
    predict_ensemble,
)
from reefguard_trainer.metrics import (
    choose_threshold,
    compute_bleach_risk_p90,
    compute_f1,
    compute_metric_set,
)
from reefguard_trainer.skill_page import write_skill_page
from reefguard_trainer.vit import VitParams, fit_vit, predict_vit_logit
from reefguard_trainer.xgb import XgbParams, fit_xgb, predict_xgb

MODEL_FILE = "model.onnx"
SKILL_PAGE = "skill.html"
PARITY_ROWS = 2000
REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"


@dataclass(frozen=True)
class TrainOptions:
    xgb: XgbParams = field(default_factory=XgbParams)
    vit: VitParams = field(default_factory=VitParams)
    seed: int = 7
    threads: int = 2
    spatial_blocks: int = 2
    later_years: tuple[int, ...] = ()
    """Years without labels whose GBR pixels the report ranks against DHW (later_years.py)."""


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
    units: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    """the fold that held each row out (its event group, or event group/block)."""

    def as_check(self, y: np.ndarray) -> OutOfFoldSet:
        return OutOfFoldSet(self.prior, self.p_xgb, self.vit_logit, y, self.units)


@dataclass(frozen=True)
class Members:
    prior: PhysicsPrior
    xgb: Any
    vit: Any


NOT_TRANSFERABLE = {
    "dhw_prev_year_max": (
        "event identity: mean 0.03 degC-weeks on every GBR 1998 row, 0.57 in 2002 (20x), so "
        "trees learn each year's base rate from it, not a physiological effect"
    ),
    "cyclone_exposure_h": "event identity: 0 on every GBR 2002 row",
    "latitude": "place identity: it learns where past events bleached, not why",
    "sst_clim_mean": "place identity (a smooth north-south gradient, like latitude)",
    "wind_speed_ms": "GCBD only, the survey week's wind, not the wind during the heat peak",
}
"""Features the learned parts may not use (leave-one-event-out x spatial-block evidence in
README "Trainer"): they carry which year or place a row comes from, and a new event has its
own year and, for new reefs, its own place."""


def select_features(training_set: TrainingSet) -> list[str]:
    """Catalogue features in manifest order that have at least one value in the training set
    and carry transferable, physical signal (not in NOT_TRANSFERABLE)."""
    features = [
        f
        for f in training_set.features
        if training_set.rows[f].notna().any() and f not in NOT_TRANSFERABLE
    ]
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
    oof.units = np.full(n, "", dtype=object)
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
        oof.units[test] = fold.name
        if progress:
            print(
                f"{progress} fold {k + 1}/{len(folds)} {fold.name}: {len(train)} train / "
                f"{len(test)} held out, {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return oof


def score_events(
    rows: Any,
    risk: np.ndarray,
    p_logistic: np.ndarray,
    threshold: float,
    units: np.ndarray | None = None,
    with_p90: bool = False,
) -> list[dict[str, Any]]:
    """Model, CRW rule and DHW logistic on exactly the same rows of each held-out event (or
    of each unit given, e.g. event x spatial block). `with_p90` adds each one's
    BLEACH_RISK_P90 (the report's tables; the card's metric set has no such field)."""
    y = rows["label"].to_numpy()
    dhw = rows[baselines.BASELINE_FEATURE].to_numpy()
    logistic_threshold = choose_threshold(p_logistic, y)
    alert = (np.nan_to_num(dhw, nan=0.0) >= baselines.ALERT_LEVEL_1_DHW).astype(np.float64)
    names = rows["event"].to_numpy() if units is None else units
    events = []
    for event in sorted(set(names)):
        i = names == event
        scored = {
            "model": compute_metric_set(risk[i], y[i], threshold),
            "crw_baseline": baselines.score_crw_rule(dhw[i], y[i]),
            "dhw_logistic": compute_metric_set(p_logistic[i], y[i], logistic_threshold),
        }
        if with_p90:
            pairs = (("model", risk), ("crw_baseline", alert), ("dhw_logistic", p_logistic))
            for who, values in pairs:
                scored[who]["bleach_risk_p90"] = compute_bleach_risk_p90(values[i])
        events.append({"event": str(event), **scored})
    return events


def score_summaries(
    rows: Any, risk: np.ndarray, p_logistic: np.ndarray, threshold: float
) -> list[dict[str, Any]]:
    """The same scores on the GBR (both years), the global surveys and all rows together."""
    source = rows["source"].to_numpy()
    units = np.where(source == "gbr-aerial", "GBR (all events)", "global (GCBD, all years)")
    return [
        *score_events(rows, risk, p_logistic, threshold, units, with_p90=True),
        *score_events(rows, risk, p_logistic, threshold, np.full(len(rows), "all rows"), True),
    ]


def train(training_set: TrainingSet, out_dir: Path, version: str, options: TrainOptions) -> dict:
    """Trains, exports, writes `out_dir/{model.onnx, model-card.json, plots}`; returns the card."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    features = select_features(training_set)
    if options.later_years:
        later_years.check_years(SAMPLE_DATA_DIR, options.later_years)
    rows, y = training_set.rows, training_set.labels
    groups = splits.assign_event_groups(rows["event"]).to_numpy()
    oof = predict_out_of_fold(training_set, features, options, progress="leave-one-event-out")
    blocked = predict_blocked(training_set, features, options)
    checks = (blocked.as_check(y),) if blocked is not None else ()
    # The prior the shipped model uses (fit_members on every row fits the same one).
    dhw_all = training_set.matrix(features)[:, dhw_column(features)]
    full_prior = fit_physics_prior(dhw_all, y)
    full_margin = prior_margin(full_prior, dhw_all)
    combiner = fit_combiner(
        oof.prior, oof.p_xgb, oof.vit_logit, y, groups, checks, calibration_prior=full_margin
    )
    risk = predict_ensemble(combiner, full_margin, oof.p_xgb, oof.vit_logit)
    threshold, threshold_choice = choose_alert_threshold(combiner, full_prior, risk, y)
    event_table = score_events(rows, risk, oof.p_dhw_logistic, threshold)
    blocked_report = score_spatial_blocks(
        training_set, blocked, combiner, threshold, options, full_margin, groups
    )
    evidence = member_evidence(oof, blocked, y, groups)
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
        ensemble=describe_ensemble(combiner, final.prior, evidence),
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
                "events; calibration and threshold chosen on these out-of-fold predictions. "
                "The learned members get weight only if they lose no held-out event and no "
                f"event x spatial block ({options.spatial_blocks} blocks: a new year at reefs "
                "never trained on) to the physics alone; those scores are in "
                "training-report.json and skill.html"
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
    report = {
        "parity_max_abs_diff": parity,
        "bleach_risk_p90": compute_bleach_risk_p90(risk),
        "physics_prior": asdict(final.prior),
        "fold_priors": {k: asdict(v) for k, v in oof.priors.items()},
        "combiner": asdict(combiner),
        "threshold_choice": threshold_choice,
        "reliability": plots.reliability_table(risk, y),
        "leave_one_event_out": {
            "held_out_events": score_events(
                rows, risk, oof.p_dhw_logistic, threshold, groups, with_p90=True
            ),
            "summaries": score_summaries(rows, risk, oof.p_dhw_logistic, threshold),
        },
        "event_x_spatial_block": blocked_report,
        "member_evidence": evidence,
        "not_transferable_features": NOT_TRANSFERABLE,
        "options": asdict(options),
    }
    folder = out_dir / "plots"
    drawn = draw_plots(rows, risk, y, report, folder)
    if options.later_years:
        loeo_only = Combiner(*choose_weights(oof.prior, oof.p_xgb, oof.vit_logit, y, groups), 1, 0)
        scorers: dict[str, later_years.Scorer] = {
            "model": lambda f, c: export.run_onnx(model_bytes, f, c),
            "learned parts": lambda f, c: export.predict_native(
                final.xgb, final.vit, loeo_only, final.prior, column, f, c, options.threads
            ),
        }
        report["later_years_learned_parts_weights"] = [loeo_only.xgb_weight, loeo_only.vit_weight]
        plot = folder / "later-years-rank-agreement.png"
        if rank_later_years(report, scorers, features, chip_shape, options.later_years, plot):
            drawn.append(plot.name)
    (out_dir / "training-report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_skill_page(out_dir / SKILL_PAGE, card, report, drawn)
    return card


ALERT_LADDER_DHW = (4.0, 8.0)
"""CRW Alert Level 1 and 2 (degC-weeks): the heat stress at which the warning may start."""
AT_THE_LEVEL = 1e-6
"""A site exactly at the level is warned (float32 graph vs float64 here)."""


def choose_alert_threshold(
    combiner: Combiner, prior: PhysicsPrior, risk: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, Any]]:
    """The saved threshold: the risk of a site at a CRW alert level whose learned parts say
    nothing (residual 0), the level with the best out-of-fold F1. The free F1 maximiser is
    reported, not used: on training years whose DHW hardly ranks the sites (AUROC 0.44-0.61)
    it lands at "warn almost everyone", a base-rate artefact of those years that would warn
    every reef in a hot year; a threshold tied to heat stress transfers to a new year."""
    ladder = []
    for level in ALERT_LADDER_DHW:
        margin = prior_margin(prior, np.array([level], np.float32))
        at_level = predict_ensemble(
            combiner, margin, np.array([0.5], np.float32), np.zeros(1, np.float32)
        )
        threshold = float(at_level[0]) - AT_THE_LEVEL
        ladder.append(
            {"dhw": level, "threshold": threshold, "f1": compute_f1(risk >= threshold, y) or 0.0}
        )
    best = max(ladder, key=lambda c: c["f1"])
    free = choose_threshold(risk, y)
    return best["threshold"], {
        "rule": "CRW alert level with the best out-of-fold F1 (levels in degC-weeks)",
        "alert_ladder": ladder,
        "chosen_dhw": best["dhw"],
        "free_max_f1": {"threshold": free, "f1": compute_f1(risk >= free, y) or 0.0},
    }


def rank_later_years(
    report: dict[str, Any],
    scorers: dict[str, later_years.Scorer],
    features: list[str],
    chip_shape: tuple[int, ...],
    years: tuple[int, ...],
    plot: Path,
) -> bool:
    """Adds `later_years` (rank agreement with DHW per year, no labels) to the report and
    draws it; a training set whose chips differ from the export's is reported as skipped."""
    print(f"later years {years}: exporting every GBR pixel", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        pixels = later_years.export_pixel_features(REPO_ROOT, SAMPLE_DATA_DIR, years, Path(scratch))
        problem = later_years.chip_shape_problem(pixels, chip_shape)
        if problem:
            print(f"later years skipped: {problem}", file=sys.stderr)
            report["later_years_skipped"] = problem
            return False
        table, points = later_years.later_year_agreement(pixels, features, scorers, years)
    report["later_years"] = table
    for entry in table:
        print(
            f"later year {entry['year']}: risk vs annual max DHW Spearman "
            f"{entry['model']['spearman']:.4f}, pairs ordered against DHW "
            f"{100 * entry['model']['inverted_pair_share']:.2f} % (no labels: not a skill score)",
            file=sys.stderr,
        )
    plots.plot_rank_agreement(points, table, plot)
    return True


def predict_blocked(
    training_set: TrainingSet, features: list[str], options: TrainOptions
) -> OutOfFold | None:
    """Out-of-fold over (event group x spatial block): a new year at reefs never trained on."""
    if options.spatial_blocks < 2:
        return None
    folds = splits.make_folds(training_set.rows, options.spatial_blocks)
    return predict_out_of_fold(
        training_set, features, options, folds, progress="event x spatial block"
    )


def score_spatial_blocks(
    training_set: TrainingSet,
    blocked: OutOfFold | None,
    combiner: Combiner,
    threshold: float,
    options: TrainOptions,
    margin: np.ndarray,
    groups: np.ndarray,
) -> dict[str, Any]:
    """The stricter check with the same combiner, prior margin and threshold: per event group
    and per event x block, next to the baselines on the same rows."""
    if blocked is None:
        return {"blocks": options.spatial_blocks, "held_out_events": []}
    rows = training_set.rows
    risk = predict_ensemble(combiner, margin, blocked.p_xgb, blocked.vit_logit)
    p_logistic = blocked.p_dhw_logistic
    return {
        "blocks": options.spatial_blocks,
        "overall": compute_metric_set(risk, training_set.labels, threshold),
        "held_out_events": score_events(rows, risk, p_logistic, threshold, groups, True),
        "held_out_blocks": score_events(
            rows, risk, p_logistic, threshold, blocked.units, with_p90=True
        ),
        "summaries": score_summaries(rows, risk, p_logistic, threshold),
    }


MEMBER_WEIGHTS = (0.3, 1.0)


def member_evidence(
    oof: OutOfFold, blocked: OutOfFold | None, y: np.ndarray, groups: np.ndarray
) -> list[dict[str, Any]]:
    """What each learned member alone would do on top of the physics, per held-out unit: the
    AUROC change (member minus physics) on every event and event x block. The combiner's
    weights follow from this table; the card and README cite it."""
    table = []
    for member in ("xgboost", "vit"):
        for weight in MEMBER_WEIGHTS:
            w_xgb, w_vit = (weight, 0.0) if member == "xgboost" else (0.0, weight)
            entry: dict[str, Any] = {"member": member, "weight": weight}
            for name, fold_set, units in (
                ("events", oof, groups),
                ("event_x_block", blocked, None if blocked is None else blocked.units),
            ):
                if fold_set is None or units is None:
                    continue
                physics = event_aurocs(fold_set.prior.astype(np.float64), y, units)
                z = combine_logits(
                    Combiner(w_xgb, w_vit, 1.0, 0.0),
                    fold_set.prior,
                    fold_set.p_xgb,
                    fold_set.vit_logit,
                )
                scores = event_aurocs(z, y, units)
                entry[name] = {u: round(scores[u] - physics[u], 4) for u in sorted(scores)}
            table.append(entry)
    return table


def worst_units(evidence: list[dict[str, Any]]) -> str:
    """Per member and weight, the held-out unit it changes most for the worse (AUROC)."""
    parts = []
    for entry in evidence:
        units = {**entry.get("events", {}), **entry.get("event_x_block", {})}
        if units:
            unit, change = min(units.items(), key=lambda item: item[1])
            parts.append(f"{entry['member']} at w {entry['weight']:g}: {change:+.3f} on {unit}")
    return "; ".join(parts)


def describe_ensemble(
    combiner: Combiner, prior: PhysicsPrior, evidence: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    physics = (
        "physics only (every learned combination ranks some held-out event or event x "
        "spatial block worse than DHW alone; worst out-of-fold AUROC change vs DHW: "
        f"{worst_units(evidence or [])}); "
    ) * int(combiner.physics_only)
    return {
        "members": ["physics_prior", "xgboost", "vit"],
        "weights": [1.0, combiner.xgb_weight, combiner.vit_weight],
        "calibration": (
            f"{physics}prior = {prior.intercept:.6g} + {prior.slope:.6g} * "
            f"{baselines.BASELINE_FEATURE} (NaN -> 0; slope floored: "
            f"{str(prior.slope_floored).lower()}); platt: risk = sigmoid({combiner.slope:.6g} * "
            "(prior + w_xgb * logit(p_xgb) + w_vit * vit_logit) + "
            f"{combiner.intercept:.6g}), fitted on this prior plus the members' out-of-fold "
            "predictions"
        ),
    }


def draw_plots(
    rows: Any, risk: np.ndarray, y: np.ndarray, report: dict[str, Any], folder: Path
) -> list[str]:
    """The training's plots under `folder`; returns their file names."""
    folder.mkdir(exist_ok=True)
    plots.plot_reliability(risk, y, folder / "reliability.png")
    loeo = report["leave_one_event_out"]
    plots.plot_event_skill(
        loeo["held_out_events"] + loeo["summaries"],
        folder / "event-skill.png",
        "leave-one-event-out",
    )
    drawn = ["event-skill.png", "reliability.png"]
    blocked = report["event_x_spatial_block"]
    if blocked.get("held_out_blocks"):
        plots.plot_event_skill(
            blocked["held_out_blocks"] + blocked["summaries"],
            folder / "event-block-skill.png",
            "event x spatial block",
        )
        drawn.append("event-block-skill.png")
    gbr = (rows["source"] == "gbr-aerial").to_numpy()
    plots.plot_risk_map(
        rows["lon"].to_numpy()[gbr],
        rows["lat"].to_numpy()[gbr],
        risk[gbr],
        folder / "risk-map.png",
    )
    return [*drawn, "risk-map.png"]
