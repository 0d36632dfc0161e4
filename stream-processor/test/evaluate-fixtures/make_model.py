"""Writes the small real ONNX model the evaluate tests run, with its model card.

A logistic rule on the CRW signal, p = sigmoid(1.5 * (dhw_max_ytd - 4)) (latitude weight 0),
so its metrics on a file can be checked by hand. Run from the repository root with
trainer/.venv/bin/python stream-processor/test/evaluate-fixtures/make_model.py
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent / "model"


def main() -> None:
    weights = numpy_helper.from_array(np.array([[1.5], [0.0]], dtype=np.float32), "w")
    bias = numpy_helper.from_array(np.array([-6.0], dtype=np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "w"], ["logit0"]),
            helper.make_node("Add", ["logit0", "b"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["probability"]),
        ],
        "crw-logistic",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1])],
        [weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    OUT.mkdir(exist_ok=True)
    data = model.SerializeToString()
    (OUT / "model.onnx").write_bytes(data)
    reference = {"edges": [0.0, 4.0, 8.0, 40.0], "shares": [0.6, 0.3, 0.1]}
    card = {
        "schema_version": 1,
        "name": "reefguard-bleaching-risk",
        "version": "test-1",
        "created_at": "2026-11-29T00:00:00Z",
        "code_version": "test",
        "data_version": "test",
        "label": "moderate-or-worse bleaching",
        "features": [
            {
                "name": "dhw_max_ytd",
                "unit": "degC-weeks",
                "mean": 3.0,
                "std": 3.0,
                "monotone": 1,
                "psi_reference": reference,
            },
            {
                "name": "latitude",
                "unit": "degrees_north",
                "mean": -18.0,
                "std": 10.0,
                "monotone": 0,
                "psi_reference": {"edges": [-90.0, 0.0, 90.0], "shares": [0.5, 0.5]},
            },
        ],
        "threshold": 0.5,
        "ensemble": {"members": ["logistic"], "weights": [1.0], "calibration": "none"},
        "files": {
            "model": {
                "path": "model.onnx",
                "sha256": hashlib.sha256(data).hexdigest(),
                "input": "features",
                "output": "probability",
            }
        },
        "metrics": {
            "validation": "none (test fixture)",
            "overall": {
                "model": {
                    "n": 0,
                    "positives": 0,
                    "auroc": None,
                    "pr_auc": None,
                    "f1": None,
                    "brier": None,
                    "peirce": None,
                },
                "crw_baseline": {
                    "n": 0,
                    "positives": 0,
                    "auroc": None,
                    "pr_auc": None,
                    "f1": None,
                    "brier": None,
                    "peirce": None,
                },
            },
            "held_out_events": [],
        },
        "training_seconds": 0,
    }
    (OUT / "model-card.json").write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
