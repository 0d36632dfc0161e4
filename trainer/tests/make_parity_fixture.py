"""Writes test/fixtures/trainer-parity/: a model exported by the trainer's own code (physics
prior + XGBoost + ViT + calibrated combiner in one ONNX graph), its model card, and input rows
with the native (Python) predictions, for test/src/trainer-onnx-parity.test.ts, which checks
that onnxruntime-node reproduces them within 1e-5.

    trainer/.venv/bin/python trainer/tests/make_parity_fixture.py [OUT_DIR]

Trained on the synthetic training set of conftest.py (small and fast). The combiner's weights
are fixed at non-zero values so every part of the graph moves the output.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from conftest import write_training_set

from reefguard_trainer import export
from reefguard_trainer.card import build_card, describe_features, sha256_file
from reefguard_trainer.data import load_training_set
from reefguard_trainer.ensemble import Combiner
from reefguard_trainer.train import (
    MODEL_FILE,
    TrainOptions,
    describe_ensemble,
    dhw_column,
    fit_members,
    select_features,
)
from reefguard_trainer.vit import VitParams
from reefguard_trainer.xgb import XgbParams

ROWS = 24
OPTIONS = TrainOptions(XgbParams(n_estimators=25), VitParams(epochs=2, max_rows=240), seed=5)
COMBINER = Combiner(xgb_weight=0.7, vit_weight=0.3, slope=0.9, intercept=-0.2)
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "trainer-parity"


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        ts = load_training_set(write_training_set(Path(scratch) / "set", rows_per_event=60))
    features = select_features(ts)
    members = fit_members(ts, features, OPTIONS, np.arange(len(ts.labels)))
    column = dhw_column(features)
    graph = export.build_ensemble_graph(
        members.xgb, members.vit, COMBINER, members.prior, column, len(features), ts.chips.shape[1:]
    )
    out.mkdir(parents=True, exist_ok=True)
    model_bytes = export.save_model(graph, out / MODEL_FILE)

    rows = np.random.default_rng(1).choice(len(ts.labels), ROWS, replace=False)
    x = ts.matrix(features)[rows].copy()
    x[::5, column] = np.nan  # unknown DHW: the prior counts it as no stress
    x[1::6, features.index("sst_clim_range")] = np.nan  # trees take the default branch
    chips = ts.chips[rows]
    native = export.predict_native(
        members.xgb, members.vit, COMBINER, members.prior, column, x, chips
    )
    export.check_parity(native, export.run_onnx(model_bytes, x, chips))

    empty = {"n": 0, "positives": 0, "auroc": None, "pr_auc": None, "f1": None}
    card = build_card(
        version="parity-fixture",
        code_version="fixture",
        data_version=ts.data_version,
        label=ts.manifest["label"],
        features=describe_features(ts.matrix(features), features),
        chip={
            **ts.manifest["chip"],
            "normalisation": [
                {"mean": float(m), "std": float(s)}
                for m, s in zip(
                    members.vit.mean.flatten().tolist(),
                    members.vit.std.flatten().tolist(),
                    strict=True,
                )
            ],
        },
        threshold=0.5,
        ensemble=describe_ensemble(COMBINER, members.prior),
        files={
            "model": {
                "path": MODEL_FILE,
                "sha256": sha256_file(out / MODEL_FILE),
                "input": export.FEATURES_INPUT,
                "output": export.RISK_OUTPUT,
            }
        },
        metrics={
            "validation": "none: a parity fixture, not a model to use",
            "overall": {
                "model": {**empty, "brier": None, "peirce": None},
                "crw_baseline": {**empty, "brier": None, "peirce": None},
            },
            "held_out_events": [],
        },
        training_seconds=0,
    )
    (out / "model-card.json").write_text(json.dumps(card, indent=2) + "\n")
    cases = {
        "rows": ROWS,
        "features": [[None if np.isnan(v) else float(v) for v in row] for row in x],
        "chips": [float(v) for v in chips.ravel()],
        "native_risk": [float(v) for v in native],
    }
    (out / "cases.json").write_text(json.dumps(cases) + "\n")
    print(f"wrote {out}: {ROWS} rows, native risk {native.min():.3f}..{native.max():.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
