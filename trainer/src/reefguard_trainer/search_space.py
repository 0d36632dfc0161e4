"""The tuning search space, defined once: Optuna (tune.py) and the Katib Experiment manifest
for clusters both read SEARCH_SPACE. No heavy imports here, so the CLI can build its
`trial --<knob>` arguments without loading torch or XGBoost.
"""

from dataclasses import dataclass
from typing import Any

STUDY_NAME = "reefguard-bleaching-risk"


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
    Knob("xgb_min_child_weight", "float", 5.0, 100.0, log=True),
    Knob("xgb_subsample", "float", 0.5, 1.0),
    Knob("vit_layers", "int", 1, 3),
    Knob("vit_heads", "categorical", choices=(1, 2, 4)),
    Knob("vit_patch_px", "categorical", choices=(2, 4, 8)),
)


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
