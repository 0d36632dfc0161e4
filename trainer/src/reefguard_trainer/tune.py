"""Tuning: Optuna TPE (Bayesian) with median pruning over the XGBoost knobs and the ViT's
attention layers / heads / patch size. One search-space definition (SEARCH_SPACE) drives both
Optuna here and the Katib Experiment manifest for clusters.

Objective: mean held-out AUROC of the learned model (physics prior margin + tree residual +
ViT residual) over event x spatial-block folds (a new year at reefs the fold never trained
on: the check the combiner applies before it gives the learned parts any weight, so tuning
favours members that transfer to new places, such as GBR 1998 south where DHW alone ranks
well); reported after each fold so hopeless trials are pruned early. Study storage: SQLite
under the state dir by default, any SQLAlchemy URL (PostgreSQL for several workers) by
setting.
"""

import os
import socket
import time
from typing import Any

import numpy as np
import optuna

from reefguard_trainer import splits
from reefguard_trainer.baselines import BASELINE_FEATURE, fit_physics_prior, prior_margin
from reefguard_trainer.data import TrainingSet
from reefguard_trainer.ensemble import logit
from reefguard_trainer.metrics import compute_auroc
from reefguard_trainer.search_space import SEARCH_SPACE, STUDY_NAME, Knob, katib_experiment
from reefguard_trainer.vit import VitParams, fit_vit, predict_vit_logit
from reefguard_trainer.xgb import XgbParams, fit_xgb, predict_xgb

__all__ = ["SEARCH_SPACE", "STUDY_NAME", "Knob", "katib_experiment", "make_objective", "tune"]
TUNE_VIT_ROWS = 800
TUNE_VIT_EPOCHS = 1
TUNE_TRAIN_ROWS = 6000
TUNE_TEST_ROWS = 3000
TUNE_FOLDS = 4
TUNE_SPATIAL_BLOCKS = 2
"""Each trial fits on a seeded subsample of each fold, on the folds with the most positives:
50 trials must fit in minutes on 2 cores. The final train uses all rows and all folds."""


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for knob in SEARCH_SPACE:
        if knob.kind == "int":
            values[knob.name] = trial.suggest_int(knob.name, int(knob.low), int(knob.high))
        elif knob.kind == "float":
            values[knob.name] = trial.suggest_float(knob.name, knob.low, knob.high, log=knob.log)
        else:
            values[knob.name] = trial.suggest_categorical(knob.name, list(knob.choices))
    return values


def to_params(values: dict[str, Any]) -> tuple[XgbParams, VitParams]:
    xgb = XgbParams(
        n_estimators=int(values["xgb_n_estimators"]),
        max_depth=int(values["xgb_max_depth"]),
        learning_rate=float(values["xgb_learning_rate"]),
        min_child_weight=float(values["xgb_min_child_weight"]),
        subsample=float(values["xgb_subsample"]),
    )
    vit = VitParams(
        layers=int(values["vit_layers"]),
        heads=int(values["vit_heads"]),
        patch_px=int(values["vit_patch_px"]),
    )
    return xgb, vit


def make_objective(training_set: TrainingSet, features: list[str], seed: int, threads: int):
    x = training_set.matrix(features)
    y = training_set.labels
    dhw = x[:, features.index(BASELINE_FEATURE)]
    rng = np.random.default_rng(seed)

    def cap(index: np.ndarray, rows: int) -> np.ndarray:
        return np.sort(rng.choice(index, rows, replace=False)) if len(index) > rows else index

    blocked = splits.make_folds(training_set.rows, TUNE_SPATIAL_BLOCKS)
    folds = sorted(blocked, key=lambda f: -y[f.test].sum())
    folds = [
        splits.Fold(f.name, cap(f.train, TUNE_TRAIN_ROWS), cap(f.test, TUNE_TEST_ROWS))
        for f in folds[:TUNE_FOLDS]
    ]

    worker = f"{socket.gethostname()}:{os.getpid()}"

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker)  # which process ran it (shared studies)
        xgb_params, vit_params = to_params(suggest(trial))
        vit_params = VitParams(
            **{**vit_params.__dict__, "max_rows": TUNE_VIT_ROWS, "epochs": TUNE_VIT_EPOCHS}
        )
        scores = []
        for step, fold in enumerate(folds):
            train, test = fold.train, fold.test
            prior = fit_physics_prior(dhw[train], y[train])
            margin = prior_margin(prior, dhw[train])
            model = fit_xgb(x[train], y[train], features, xgb_params, seed, threads, margin)
            vit = fit_vit(training_set.chips[train], y[train], vit_params, seed, threads, margin)
            z = (
                prior_margin(prior, dhw[test])
                + logit(predict_xgb(model, x[test]))
                + predict_vit_logit(vit, training_set.chips[test], threads)
            )
            scores.append(compute_auroc(z, y[fold.test]) or 0.5)
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    return objective


def open_study(storage: str, seed: int, attempts: int = 5) -> optuna.Study:
    """Creates or joins the study. Workers that start together race to create the storage's
    tables; the losers see an integrity/programming error once and join on a retry."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for attempt in range(attempts):
        try:
            return optuna.create_study(
                study_name=STUDY_NAME,
                storage=storage,
                direction="maximize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
                load_if_exists=True,
            )
        except (
            IntegrityError,
            ProgrammingError,
            OperationalError,
            optuna.exceptions.DuplicatedStudyError,
        ):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def tune(
    training_set: TrainingSet,
    features: list[str],
    storage: str,
    trials: int,
    seed: int,
    threads: int,
) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(storage, seed)
    study.optimize(make_objective(training_set, features, seed, threads), n_trials=trials)
    return study
