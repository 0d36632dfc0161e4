"""ONNX export: physics prior + XGBoost (onnxmltools) + ViT (torch.onnx) + calibrated combiner
in ONE graph.

Inputs `features` float32 [N, F] (card order, NaN = unknown) and `chips` float32 [N, C, S, S];
output `risk` float32 [N]. The prior's margin is computed inside the graph from the DHW
column of `features` (NaN -> 0), exactly as `baselines.prior_margin`. The export fails
unless onnxruntime reproduces the native predictions to PARITY_TOLERANCE.
"""

import io
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import xgboost as xgb
from onnx import TensorProto, helper
from onnxmltools import convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType

from reefguard_trainer.baselines import PhysicsPrior, prior_margin
from reefguard_trainer.ensemble import EPSILON, Combiner, predict_ensemble
from reefguard_trainer.vit import ChipVit, predict_vit_logit
from reefguard_trainer.xgb import predict_xgb

FEATURES_INPUT = "features"
CHIPS_INPUT = "chips"
RISK_OUTPUT = "risk"
PARITY_TOLERANCE = 1e-5
ML_OPSET = 3
OPSET = 18
XGB_OPSET = 15


class ParityError(RuntimeError):
    """onnxruntime does not reproduce the native predictions."""


def export_xgb(model: xgb.XGBClassifier, width: int) -> onnx.ModelProto:
    booster_model = convert_xgboost(
        model,
        initial_types=[(FEATURES_INPUT, FloatTensorType([None, width]))],
        target_opset=XGB_OPSET,
    )
    return onnx.compose.add_prefix(booster_model, "xgb_", rename_inputs=False)


def export_vit(model: ChipVit, shape: tuple[int, int, int]) -> onnx.ModelProto:
    buffer = io.BytesIO()
    example = torch.zeros(2, *shape)
    torch.onnx.export(
        model,
        (example,),
        buffer,  # type: ignore[arg-type]
        input_names=[CHIPS_INPUT],
        output_names=["vit_logit"],
        dynamic_axes={CHIPS_INPUT: {0: "n"}, "vit_logit": {0: "n"}},
        opset_version=OPSET,
        dynamo=False,
    )
    vit = onnx.load_from_string(buffer.getvalue())
    return onnx.compose.add_prefix(vit, "vit_", rename_inputs=False, rename_outputs=False)


def _constant(name: str, value: float | list[int]) -> onnx.TensorProto:
    if isinstance(value, list):
        return helper.make_tensor(name, TensorProto.INT64, [len(value)], value)
    return helper.make_tensor(name, TensorProto.FLOAT, [], [value])


def combiner_nodes(
    combiner: Combiner, prior: PhysicsPrior, dhw_column: int, xgb_output: str
) -> tuple[list, list]:
    """risk = sigmoid(a * (prior + w * logit(clip(p_xgb)) + v * vit_logit) + b), with
    prior = intercept + slope * nan_to_0(features[:, dhw_column])."""
    c = [
        _constant("c_one_index", [1]),
        _constant("c_dhw_index", [dhw_column]),
        _constant("c_zero", 0.0),
        _constant("c_prior_slope", prior.slope),
        _constant("c_prior_intercept", prior.intercept),
        _constant("c_eps", EPSILON),
        _constant("c_one_minus_eps", 1 - EPSILON),
        _constant("c_one", 1.0),
        _constant("c_w", combiner.xgb_weight),
        _constant("c_v", combiner.vit_weight),
        _constant("c_a", combiner.slope),
        _constant("c_b", combiner.intercept),
    ]
    n = helper.make_node
    nodes = [
        n("Gather", [FEATURES_INPUT, "c_dhw_index"], ["dhw_col"], axis=1),
        n("Reshape", ["dhw_col", "c_shape_n"], ["dhw_raw"]),
        n("IsNaN", ["dhw_raw"], ["dhw_missing"]),
        n("Where", ["dhw_missing", "c_zero", "dhw_raw"], ["dhw_filled"]),
        n("Mul", ["dhw_filled", "c_prior_slope"], ["prior_scaled"]),
        n("Add", ["prior_scaled", "c_prior_intercept"], ["prior_margin"]),
        n("Gather", [xgb_output, "c_one_index"], ["p_col"], axis=1),
        n("Reshape", ["p_col", "c_shape_n"], ["p_xgb"]),
        n("Clip", ["p_xgb", "c_eps", "c_one_minus_eps"], ["p_clip"]),
        n("Sub", ["c_one", "p_clip"], ["q_clip"]),
        n("Div", ["p_clip", "q_clip"], ["odds"]),
        n("Log", ["odds"], ["xgb_logit"]),
        n("Mul", ["xgb_logit", "c_w"], ["xgb_term"]),
        n("Mul", ["vit_logit", "c_v"], ["vit_term"]),
        n("Add", ["xgb_term", "vit_term"], ["learned"]),
        n("Add", ["prior_margin", "learned"], ["z"]),
        n("Mul", ["z", "c_a"], ["z_scaled"]),
        n("Add", ["z_scaled", "c_b"], ["z_calibrated"]),
        n("Sigmoid", ["z_calibrated"], [RISK_OUTPUT]),
    ]
    c.append(_constant("c_shape_n", [-1]))
    return nodes, c


def build_ensemble_graph(
    xgb_model: xgb.XGBClassifier,
    vit_model: ChipVit,
    combiner: Combiner,
    prior: PhysicsPrior,
    dhw_column: int,
    width: int,
    chip_shape: tuple[int, int, int],
) -> onnx.ModelProto:
    xgb_onnx = export_xgb(xgb_model, width)
    xgb_graph, xgb_opsets = xgb_onnx.graph, xgb_onnx.opset_import
    vit_graph = export_vit(vit_model, chip_shape).graph
    probabilities = xgb_graph.output[1].name
    nodes, constants = combiner_nodes(combiner, prior, dhw_column, probabilities)
    graph = helper.make_graph(
        list(xgb_graph.node) + list(vit_graph.node) + nodes,
        "reefguard_bleaching_risk",
        inputs=[
            helper.make_tensor_value_info(FEATURES_INPUT, TensorProto.FLOAT, ["n", width]),
            helper.make_tensor_value_info(CHIPS_INPUT, TensorProto.FLOAT, ["n", *chip_shape]),
        ],
        outputs=[helper.make_tensor_value_info(RISK_OUTPUT, TensorProto.FLOAT, ["n"])],
        initializer=list(xgb_graph.initializer) + list(vit_graph.initializer) + constants,
    )
    ml_opset = max([o.version for o in xgb_opsets if o.domain == "ai.onnx.ml"], default=ML_OPSET)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ml_opset)],
        producer_name="reefguard-trainer",
    )
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def run_onnx(model_bytes: bytes, features: np.ndarray, chips: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    feed = {FEATURES_INPUT: features.astype(np.float32), CHIPS_INPUT: chips.astype(np.float32)}
    return np.asarray(session.run([RISK_OUTPUT], feed)[0]).reshape(-1)


def predict_native(
    xgb_model: xgb.XGBClassifier,
    vit_model: ChipVit,
    combiner: Combiner,
    prior: PhysicsPrior,
    dhw_column: int,
    features: np.ndarray,
    chips: np.ndarray,
    threads: int = 2,
) -> np.ndarray:
    return predict_ensemble(
        combiner,
        prior_margin(prior, features[:, dhw_column]),
        predict_xgb(xgb_model, features),
        predict_vit_logit(vit_model, chips, threads),
    )


def check_parity(native: np.ndarray, onnx_risk: np.ndarray) -> float:
    difference = float(np.max(np.abs(native - onnx_risk))) if len(native) else 0.0
    if not difference < PARITY_TOLERANCE:
        raise ParityError(
            f"onnxruntime differs from the native ensemble by {difference:.2e} "
            f"(limit {PARITY_TOLERANCE:.0e}): do not ship this graph"
        )
    return difference


def save_model(model: onnx.ModelProto, path: Path) -> bytes:
    data = model.SerializeToString()
    path.write_bytes(data)
    return data
