"""The trainer reads core's contracts: a valid document passes, a broken one names its field."""

import pytest

from reefguard_trainer import contracts
from reefguard_trainer.__main__ import main

SHA = "a" * 64
REQUEST = {
    "schema_version": 1,
    "id": "retrain/trace-0001",
    "trace_id": "trace-0001",
    "reason": "drift",
    "features": ["sst_anomaly"],
    "requested_at": "2024-02-20T03:00:00Z",
    "requested_by": "stream-processor",
}


def test_every_contract_has_a_schema() -> None:
    names = sorted(p.name.removesuffix(".schema.json") for p in contracts.SCHEMA_DIR.iterdir())
    assert names == [
        "buoy-reading",
        "drift-event",
        "feature-vector",
        "model-announcement",
        "model-card",
        "prediction",
        "retrain-request",
        "retrain-result",
        "rollout-decision",
        "satellite-observation",
        "training-set-manifest",
    ]


def test_valid_retrain_request_passes() -> None:
    contracts.validate("retrain-request", REQUEST)


def test_wrong_version_is_rejected_naming_the_field() -> None:
    with pytest.raises(contracts.ContractError, match="schema_version"):
        contracts.validate("retrain-request", {**REQUEST, "schema_version": 2})


def test_bad_enum_and_missing_field_are_rejected() -> None:
    with pytest.raises(contracts.ContractError, match="reason"):
        contracts.validate("retrain-request", {**REQUEST, "reason": "boredom"})
    partial = {k: v for k, v in REQUEST.items() if k != "trace_id"}
    with pytest.raises(contracts.ContractError, match="trace_id"):
        contracts.validate("retrain-request", partial)


def test_cli_validate_reports_errors(tmp_path, capsys) -> None:
    good = tmp_path / "good.json"
    good.write_text(__import__("json").dumps(REQUEST))
    assert main(["validate", "retrain-request", str(good)]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text(__import__("json").dumps({**REQUEST, "requested_at": 5}))
    assert main(["validate", "retrain-request", str(bad)]) == 1
    assert "requested_at" in capsys.readouterr().err


def test_unknown_contract_is_a_clear_error() -> None:
    with pytest.raises(contracts.ContractError, match="no contract named 'nope'"):
        contracts.load_schema("nope")
