"""Retrain worker: retrain requests from NATS JetStream -> export -> train -> register ->
retrain result (core's `retrain-result` contract). At-least-once delivery with exactly-once
effect: request ids already handled (kept in `$STATE_DIR/retrain/done.json`) are acknowledged
and skipped, and each result is published with the message id `result/<request id>`, so a
redelivered request never trains or announces twice.

A request that cannot be trained (no data, a training error) gets a `failed` result with the
reason instead of being redelivered forever; serving records it as a rejected rollout.
"""

import asyncio
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from reefguard_trainer import contracts
from reefguard_trainer.card import MODEL_NAME

REQUESTS_SUBJECT = "reefguard.v1.retrain.requests"
RESULTS_SUBJECT = "reefguard.v1.retrain.results"
# Same name and subjects as core's LOOP_STREAMS.retrain, so whoever starts first creates it.
STREAM = "REEFGUARD_RETRAIN"
STREAM_SUBJECTS = ("reefguard.v1.retrain.>",)
DURABLE = "trainer-retrain-worker"


def load_done(path: Path) -> set[str]:
    return set(json.loads(path.read_text())) if path.exists() else set()


def save_done(path: Path, done: set[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(sorted(done)))
    temporary.replace(path)


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def trace_tags(request: dict[str, Any]) -> dict[str, str]:
    """Tags on the MLflow run and model version: the loop's trace and the request behind it."""
    return {"trace_id": request["trace_id"], "retrain_request_id": request["id"]}


def _skill(metrics: dict[str, Any]) -> dict[str, float | None]:
    return {k: metrics.get(k) for k in ("f1", "auroc", "pr_auc", "brier")}


def succeeded_result(
    request: dict[str, Any], training: dict[str, Any], started_at: str
) -> dict[str, Any]:
    """The result of one training run (`pipeline.run_training`'s return value): the version
    serving will find in its registry (MLflow's when MLflow was used) and the gate numbers."""
    card = training["card"]
    mlflow = training.get("mlflow") or {}
    overall = card["metrics"]["overall"]
    return {
        "schema_version": 1,
        "id": f"result/{request['id']}",
        "request_id": request["id"],
        "trace_id": request["trace_id"],
        "status": "succeeded",
        "model_name": card["name"],
        "model_version": mlflow.get("registered_version") or training["version"],
        "local_version": training["version"],
        "mlflow_run_id": mlflow.get("run_id"),
        "data_version": card["data_version"],
        "threshold": card["threshold"],
        "metrics": {
            "model": _skill(overall["model"]),
            "crw_baseline": _skill(overall["crw_baseline"]),
        },
        "held_out_events": [
            {
                "event": event["event"],
                "model_f1": event["model"]["f1"],
                "crw_baseline_f1": event["crw_baseline"]["f1"],
            }
            for event in card["metrics"]["held_out_events"]
        ],
        "training_seconds": card["training_seconds"],
        "started_at": started_at,
        "finished_at": iso_now(),
    }


def failed_result(request: dict[str, Any], reason: str, started_at: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "id": f"result/{request['id']}",
        "request_id": request["id"],
        "trace_id": request["trace_id"],
        "status": "failed",
        "reason": reason,
        "model_name": MODEL_NAME,
        "model_version": None,
        "local_version": None,
        "mlflow_run_id": None,
        "data_version": None,
        "threshold": None,
        "metrics": None,
        "held_out_events": [],
        "training_seconds": None,
        "started_at": started_at,
        "finished_at": iso_now(),
    }


def handle_request(
    request: dict[str, Any],
    retrain: Callable[[dict[str, Any], Path], dict[str, Any]],
) -> dict[str, Any]:
    """Trains for one request; any training error becomes a failed result naming it."""
    started_at = iso_now()
    started = time.perf_counter()
    print(f"retrain {request['id']} (trace {request['trace_id']}): training", flush=True)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            training = retrain(request, Path(scratch))
        result = succeeded_result(request, training, started_at)
    except Exception as error:  # a failed training is reported, not redelivered forever
        traceback.print_exc(file=sys.stderr)
        reason = f"training failed: {type(error).__name__}: {error}"
        result = failed_result(request, reason.strip()[:2000], started_at)
    contracts.validate("retrain-result", result)
    took = time.perf_counter() - started
    print(
        f"retrain {request['id']}: {result['status']}"
        f" version {result['model_version']} in {took:.1f} s",
        flush=True,
    )
    return result


async def ensure_stream(js: Any, stream: str, subjects: list[str]) -> None:
    """Uses the stream that already takes the subjects (core's or a test's), else adds one."""
    try:
        await js.find_stream_name_by_subject(subjects[0])
    except NotFoundError:
        await js.add_stream(name=stream, subjects=subjects)


async def run_worker(
    nats_url: str,
    state_dir: Path,
    retrain: Callable[[dict[str, Any], Path], dict[str, Any]],
    stop: asyncio.Event,
    subjects: tuple[str, str] = (REQUESTS_SUBJECT, RESULTS_SUBJECT),
    stream: str = STREAM,
) -> int:
    """Handles requests until `stop` is set; returns how many results it published.
    `retrain(request, scratch_dir)` exports the newest data and trains: it returns
    `pipeline.run_training`'s result (version, card, mlflow) or raises."""
    requests_subject, results_subject = subjects
    done_path = state_dir / "retrain" / "done.json"
    done = load_done(done_path)
    connection = await nats.connect(nats_url)
    handled = 0
    try:
        js = connection.jetstream()
        default = subjects == (REQUESTS_SUBJECT, RESULTS_SUBJECT)
        await ensure_stream(js, stream, list(STREAM_SUBJECTS) if default else list(subjects))
        subscription = await js.pull_subscribe(
            requests_subject,
            durable=DURABLE,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=1800),
        )
        print(f"retrain worker: waiting for requests on {requests_subject}", flush=True)
        while not stop.is_set():
            try:
                messages = await subscription.fetch(1, timeout=0.5)
            except TimeoutError:
                continue
            for message in messages:
                try:
                    request = json.loads(message.data)
                    contracts.validate("retrain-request", request)
                except (ValueError, contracts.ContractError) as error:
                    # A malformed request can never succeed: drop it, saying why.
                    print(f"retrain worker: dropped a bad request: {error}", file=sys.stderr)
                    await message.term()
                    continue
                if request["id"] in done:
                    await message.ack()
                    continue
                result = await asyncio.to_thread(handle_request, request, retrain)
                await js.publish(
                    results_subject,
                    json.dumps(result).encode(),
                    headers={"Nats-Msg-Id": result["id"]},
                )
                done.add(request["id"])
                save_done(done_path, done)
                await message.ack()
                handled += 1
    finally:
        await connection.close()
    return handled
