"""Tuning: Optuna TPE (Bayesian) with median pruning over the XGBoost knobs and the ViT's
attention layers / heads / patch size. One search-space definition (SEARCH_SPACE) drives both
Optuna here and the Katib Experiment manifest for clusters.

Objective: mean held-out AUROC over whole-event folds of the average of the two members'
probabilities; reported after each fold so hopeless trials are pruned early. Study storage:
SQLite under the state dir by default, any SQLAlchemy URL (PostgreSQL for several workers)
by setting.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from reefguard_trainer import splits
from reefguard_trainer.data import TrainingSet
from reefguard_trainer.ensemble import logit
from reefguard_trainer.metrics import compute_auroc
from reefguard_trainer.vit import VitParams, fit_vit, predict_vit_logit
from reefguard_trainer.xgb import XgbParams, fit_xgb, predict_xgb

STUDY_NAME = "reefguard-bleaching-risk"
TUNE_VIT_ROWS = 800
TUNE_VIT_EPOCHS = 1
TUNE_TRAIN_ROWS = 6000
TUNE_TEST_ROWS = 3000
TUNE_FOLDS = 4
"""Each trial fits on a seeded subsample of each fold, on the folds with the most positives:
50 trials must fit in minutes on 2 cores. The final train uses all rows and all folds."""


@dataclass(frozen=True)
class Knob:
    name: str
    kind: str  # "int" | "float" | "categorical"
    low: float = 0
    high: float = 0
    log: bool = False
    choices: tuple[int, ...] = ()


SEARCH_SPACE: tuple[Knob, ...] = (
    Knob("xgb_n_estimators", "int", 40, 250),
    Knob("xgb_max_depth", "int", 2, 6),
    Knob("xgb_learning_rate", "float", 0.02, 0.3, log=True),
    Knob("xgb_min_child_weight", "float", 1.0, 20.0, log=True),
    Knob("xgb_subsample", "float", 0.5, 1.0),
    Knob("vit_layers", "int", 1, 3),
    Knob("vit_heads", "categorical", choices=(1, 2, 4)),
    Knob("vit_patch_px", "categorical", choices=(2, 4, 8)),
)


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
    rng = np.random.default_rng(seed)

    def cap(index: np.ndarray, rows: int) -> np.ndarray:
        return np.sort(rng.choice(index, rows, replace=False)) if len(index) > rows else index

    folds = sorted(splits.make_event_folds(training_set.rows), key=lambda f: -y[f.test].sum())
    folds = [
        splits.Fold(f.name, cap(f.train, TUNE_TRAIN_ROWS), cap(f.test, TUNE_TEST_ROWS))
        for f in folds[:TUNE_FOLDS]
    ]

    def objective(trial: optuna.Trial) -> float:
        xgb_params, vit_params = to_params(suggest(trial))
        vit_params = VitParams(
            **{**vit_params.__dict__, "max_rows": TUNE_VIT_ROWS, "epochs": TUNE_VIT_EPOCHS}
        )
        scores = []
        for step, fold in enumerate(folds):
            model = fit_xgb(x[fold.train], y[fold.train], features, xgb_params, seed, threads)
            vit = fit_vit(training_set.chips[fold.train], y[fold.train], vit_params, seed, threads)
            z = logit(predict_xgb(model, x[fold.test])) + predict_vit_logit(
                vit, training_set.chips[fold.test], threads
            )
            scores.append(compute_auroc(z, y[fold.test]) or 0.5)
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    return objective


def open_study(storage: str, seed: int) -> optuna.Study:
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        load_if_exists=True,
    )


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


def katib_parameter(knob: Knob) -> dict[str, Any]:
    if knob.kind == "categorical":
        return {
            "name": knob.name,
            "parameterType": "categorical",
            "feasibleSpace": {"list": [str(c) for c in knob.choices]},
        }
    return {
        "name": knob.name,
        "parameterType": "int" if knob.kind == "int" else "double",
        "feasibleSpace": {
            "min": str(int(knob.low) if knob.kind == "int" else knob.low),
            "max": str(int(knob.high) if knob.kind == "int" else knob.high),
        },
    }


def katib_experiment(image: str, trials: int, parallel: int) -> dict[str, Any]:
    """A Katib Experiment (kubeflow.org/v1beta1) from SEARCH_SPACE; each trial runs
    `python -m reefguard_trainer trial --<knob> VALUE ...` and prints `auroc=<value>`."""
    arguments = [f"--{k.name}=${{trialParameters.{k.name}}}" for k in SEARCH_SPACE]
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": STUDY_NAME, "namespace": "reefguard"},
        "spec": {
            "objective": {
                "type": "maximize",
                "objectiveMetricName": "auroc",
                "additionalMetricNames": [],
            },
            "algorithm": {"algorithmName": "bayesianoptimization"},
            "earlyStopping": {"algorithmName": "medianstop"},
            "maxTrialCount": trials,
            "parallelTrialCount": parallel,
            "maxFailedTrialCount": 3,
            "parameters": [katib_parameter(k) for k in SEARCH_SPACE],
            "metricsCollectorSpec": {"collector": {"kind": "StdOut"}},
            "trialTemplate": {
                "primaryContainerName": "trainer",
                "trialParameters": [
                    {"name": k.name, "reference": k.name, "description": k.kind}
                    for k in SEARCH_SPACE
                ],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {
                                        "name": "trainer",
                                        "image": image,
                                        "command": [
                                            "python",
                                            "-m",
                                            "reefguard_trainer",
                                            "trial",
                                            "--training-set",
                                            "/data/training-set",
                                            *arguments,
                                        ],
                                        "volumeMounts": [
                                            {"name": "training-set", "mountPath": "/data"}
                                        ],
                                    }
                                ],
                                "volumes": [
                                    {
                                        "name": "training-set",
                                        "persistentVolumeClaim": {"claimName": "training-set"},
                                    }
                                ],
                            }
                        }
                    },
                },
            },
        },
    }
