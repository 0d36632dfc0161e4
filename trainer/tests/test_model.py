import json
from pathlib import Path

import numpy as np
import pytest

from reefguard_trainer import baselines, contracts, export, splits
from reefguard_trainer.card import describe_features, sha256_file
from reefguard_trainer.data import load_training_set
from reefguard_trainer.ensemble import Combiner
from reefguard_trainer.train import (
    TrainOptions,
    dhw_column,
    fit_members,
    predict_out_of_fold,
    select_features,
    train,
)
from reefguard_trainer.vit import VitParams, fit_vit, predict_vit_logit
from reefguard_trainer.xgb import XgbParams, fit_xgb, predict_xgb

QUICK = TrainOptions(XgbParams(n_estimators=30), VitParams(epochs=2, max_rows=500), seed=3)


@pytest.fixture(scope="module")
def members(training_set_dir: Path):
    ts = load_training_set(training_set_dir)
    features = select_features(ts)
    fitted = fit_members(ts, features, QUICK, np.arange(len(ts.labels)))
    column = dhw_column(features)
    # Both learned members on: the graph must carry all three parts, whatever a fit picks.
    combiner = Combiner(0.6, 0.4, 0.9, -0.1)
    graph = export.build_ensemble_graph(
        fitted.xgb, fitted.vit, combiner, fitted.prior, column, len(features), ts.chips.shape[1:]
    )
    return ts, features, fitted, combiner, graph.SerializeToString()


def native(members_fixture, x: np.ndarray, chips: np.ndarray) -> np.ndarray:
    _, features, fitted, combiner, _ = members_fixture
    return export.predict_native(
        fitted.xgb, fitted.vit, combiner, fitted.prior, dhw_column(features), x, chips
    )


@pytest.fixture(scope="module")
def trained(training_set_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("model")
    card = train(load_training_set(training_set_dir), out, "1", QUICK)
    return out, card


def test_onnx_graph_reproduces_native_ensemble_within_1e_5(members) -> None:
    ts, features, *_, model_bytes = members
    x = ts.matrix(features).copy()
    x[::7, dhw_column(features)] = np.nan  # unknown DHW: the prior counts it as 0 in both
    onnx_risk = export.run_onnx(model_bytes, x, ts.chips)
    assert onnx_risk.shape == (len(x),)
    assert export.check_parity(native(members, x, ts.chips), onnx_risk) < 1e-5


def test_parity_check_fails_the_export_when_predictions_differ() -> None:
    with pytest.raises(export.ParityError):
        export.check_parity(np.array([0.5], np.float32), np.array([0.5001], np.float32))


@pytest.mark.parametrize("feature", ["dhw", "dhw_max_ytd", "hotspot"])
def test_raising_heat_stress_never_lowers_risk_native_and_onnx(members, feature: str) -> None:
    ts, features, *_, model_bytes = members
    column = features.index(feature)
    x = ts.matrix(features)[:40].copy()
    chips = ts.chips[:40]
    previous_native = previous_onnx = None
    for value in np.linspace(0, 20, 15):
        x[:, column] = value
        risk = native(members, x, chips)
        onnx_risk = export.run_onnx(model_bytes, x, chips)
        if previous_native is not None:
            assert np.all(risk >= previous_native - 1e-7)
            assert np.all(onnx_risk >= previous_onnx - 1e-6)
        previous_native, previous_onnx = risk, onnx_risk
    # the constraint is not vacuous: heat stress does move the risk
    x[:, column] = 0
    low = export.run_onnx(model_bytes, x, chips)
    x[:, column] = 20
    assert np.mean(export.run_onnx(model_bytes, x, chips) - low) >= 0


@pytest.mark.parametrize("feature", ["sst_clim_range", "k490", "depth_m"])
def test_acclimatisation_turbidity_and_depth_never_raise_risk(members, feature: str) -> None:
    ts, features, *_, model_bytes = members
    column = features.index(feature)
    x = ts.matrix(features)[:40].copy()
    chips = ts.chips[:40]
    previous = None
    for value in np.linspace(-3, 12, 12):
        x[:, column] = value
        risk = export.run_onnx(model_bytes, x, chips)
        if previous is not None:
            assert np.all(risk <= previous + 1e-6)
        previous = risk
    card = json.loads(json.dumps(describe_features(ts.matrix(features), features)))
    assert next(f for f in card if f["name"] == feature)["monotone"] == -1


def test_same_seed_gives_identical_models(training_set_dir: Path) -> None:
    ts = load_training_set(training_set_dir)
    features = select_features(ts)
    x, y = ts.matrix(features), ts.labels
    margin = baselines.prior_margin(baselines.fit_physics_prior(x[:, 1], y), x[:, 1])
    runs = [
        (
            predict_xgb(fit_xgb(x, y, features, QUICK.xgb, 11, 2, margin), x),
            predict_vit_logit(fit_vit(ts.chips, y, QUICK.vit, 11, 2, margin), ts.chips, 2),
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_held_out_event_and_block_rows_never_train_their_fold(training_set_dir: Path) -> None:
    ts = load_training_set(training_set_dir)
    groups = splits.assign_event_groups(ts.rows["event"]).to_numpy()
    blocks = splits.assign_spatial_blocks(ts.rows, 2)
    folds = splits.make_folds(ts.rows, 2)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(ts.rows)))  # every row tested once
    for fold in folds:
        assert set(groups[fold.train]).isdisjoint(set(groups[fold.test]))
        assert set(blocks[fold.train]).isdisjoint(set(blocks[fold.test]))
    oof = predict_out_of_fold(ts, select_features(ts), QUICK, folds)
    row_ids = ts.rows["row_id"].to_numpy()
    for fold in folds:
        assert set(oof.train_rows_seen[fold.name]).isdisjoint(set(row_ids[fold.test]))


def test_features_of_existing_rows_unchanged_when_later_data_is_added(tmp_path: Path) -> None:
    from conftest import write_training_set

    small = load_training_set(write_training_set(tmp_path / "a", rows_per_event=30, seed=5))
    larger = load_training_set(write_training_set(tmp_path / "b", rows_per_event=30, seed=5))
    np.testing.assert_array_equal(small.matrix(), larger.matrix())
    np.testing.assert_array_equal(small.chips, larger.chips)


def test_card_validates_and_names_the_exported_graph(trained) -> None:
    out, _card = trained
    written = json.loads((out / "model-card.json").read_text())
    contracts.validate("model-card", written)
    assert written["files"]["model"]["sha256"] == sha256_file(out / "model.onnx")
    assert [f["name"] for f in written["features"]][:2] == ["dhw", "dhw_max_ytd"]
    assert all(len(f["psi_reference"]["edges"]) <= 11 for f in written["features"])
    assert sum(written["features"][1]["psi_reference"]["shares"]) == pytest.approx(1)
    assert 0 < written["threshold"] < 1
    assert written["ensemble"]["members"] == ["physics_prior", "xgboost", "vit"]
    assert written["ensemble"]["weights"][0] == 1
    assert all(0 <= w <= 1 for w in written["ensemble"]["weights"][1:])
    events = {e["event"] for e in written["metrics"]["held_out_events"]}
    assert events == {"gbr-1998", "gbr-2002", "gcbd-2005", "gcbd-2006"}
    assert len(written["chip"]["normalisation"]) == 4
    for plot in ("reliability.png", "event-skill.png", "risk-map.png"):
        assert (out / "plots" / plot).stat().st_size > 1000


def test_model_beats_chance_on_held_out_events_of_a_learnable_fixture(trained) -> None:
    _, card = trained
    overall = card["metrics"]["overall"]["model"]
    assert overall["auroc"] > 0.75


def test_report_and_skill_page_hold_both_validations_and_the_threshold_rule(trained) -> None:
    out, card = trained
    report = json.loads((out / "training-report.json").read_text())
    choice = report["threshold_choice"]
    assert choice["chosen_dhw"] in (4.0, 8.0)
    chosen = next(c for c in choice["alert_ladder"] if c["dhw"] == choice["chosen_dhw"])
    assert card["threshold"] == pytest.approx(chosen["threshold"])
    assert chosen["f1"] == max(c["f1"] for c in choice["alert_ladder"])
    loeo = report["leave_one_event_out"]
    assert {e["event"] for e in loeo["held_out_events"]} == {
        "gbr-1998",
        "gbr-2002",
        "gcbd-2002-2005",
        "gcbd-2006-2009",
    }
    for entry in loeo["held_out_events"] + report["event_x_spatial_block"]["held_out_blocks"]:
        for who in ("model", "crw_baseline", "dhw_logistic"):
            assert 0 <= entry[who]["bleach_risk_p90"] <= 1
    assert [e["member"] for e in report["member_evidence"]] == ["xgboost"] * 2 + ["vit"] * 2
    page = (out / "skill.html").read_text()
    assert "Leave-one-event-out" in page and "Event x spatial block" in page
    assert "gbr-1998/block0" in page
    assert "Learned members: out-of-fold AUROC change" in page
    for plot in ("event-skill.png", "event-block-skill.png", "reliability.png"):
        assert f'src="plots/{plot}"' in page
        assert (out / "plots" / plot).stat().st_size > 1000
