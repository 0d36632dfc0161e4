"""Writes the small real ONNX models the evaluate tests run, with their model cards.

`model/`: a logistic rule on the CRW signal, p = sigmoid(1.5 * (dhw_max_ytd - 4)) (latitude
weight 0), so its metrics on a file can be checked by hand.
`model-chip/`: the same rule read from the chip input instead (channel 0, dhw_max_ytd, at the
site's pixel [8, 8] of the default 6 x 16 x 16 chip), so a wrong chip layout changes its scores.
Run from the repository root with
trainer/.venv/bin/python stream-processor/test/evaluate-fixtures/make_model.py
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
# The graph and card helpers of the TypeScript tests' model fixtures.
sys.path.insert(0, str(HERE.parents[2] / "test" / "fixtures" / "models"))
from make_models import finish_model, no_metrics  # noqa: E402

CHANNELS = [
    "dhw_max_ytd",
    "dhw_prev_year_max",
    "sst_clim_range",
    "k490",
    "depth_m",
    "reef_mask",
]
SIZE = 16


def build_graph(with_chip: bool) -> onnx.ModelProto:
    feature_weights = [[0.0], [0.0]] if with_chip else [[1.5], [0.0]]
    initializers = [
        numpy_helper.from_array(np.array(feature_weights, dtype=np.float32), "w"),
        numpy_helper.from_array(np.array([-6.0], dtype=np.float32), "b"),
    ]
    nodes = [helper.make_node("MatMul", ["features", "w"], ["logit0"])]
    inputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 2])]
    if with_chip:
        chip_weights = np.zeros((len(CHANNELS) * SIZE * SIZE, 1), dtype=np.float32)
        chip_weights[(SIZE // 2) * SIZE + SIZE // 2, 0] = 1.5
        initializers.append(numpy_helper.from_array(chip_weights, "wc"))
        nodes += [
            helper.make_node("Flatten", ["chips"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "wc"], ["chip_logit"]),
            helper.make_node("Add", ["logit0", "chip_logit"], ["logit1"]),
            helper.make_node("Add", ["logit1", "b"], ["logit"]),
        ]
        inputs.append(
            helper.make_tensor_value_info(
                "chips", TensorProto.FLOAT, ["N", len(CHANNELS), SIZE, SIZE]
            )
        )
    else:
        nodes.append(helper.make_node("Add", ["logit0", "b"], ["logit"]))
    nodes.append(helper.make_node("Sigmoid", ["logit"], ["probability"]))
    graph = helper.make_graph(
        nodes,
        "crw-logistic",
        inputs,
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1])],
        initializers,
    )
    return finish_model(graph)


def write(folder: str, version: str, with_chip: bool) -> None:
    out = HERE / folder
    out.mkdir(exist_ok=True)
    data = build_graph(with_chip).SerializeToString()
    (out / "model.onnx").write_bytes(data)
    reference = {"edges": [0.0, 4.0, 8.0, 40.0], "shares": [0.6, 0.3, 0.1]}
    card = {
        "schema_version": 1,
        "name": "reefguard-bleaching-risk",
        "version": version,
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
            "overall": {"model": no_metrics(), "crw_baseline": no_metrics()},
            "held_out_events": [],
        },
        "training_seconds": 0,
    }
    if with_chip:
        card["chip"] = {
            "channels": CHANNELS,
            "size_px": SIZE,
            "pixel_deg": 0.02,
            "normalisation": [{"mean": 0.0, "std": 1.0} for _ in CHANNELS],
        }
    (out / "model-card.json").write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    write("model", "test-1", with_chip=False)
    write("model-chip", "test-chip-1", with_chip=True)
