"""Retrain worker: retrain requests from NATS JetStream -> export -> train -> register ->
result message. At-least-once delivery with exactly-once effect: request ids already handled
(kept in `$STATE_DIR/retrain/done.json`) are acknowledged and skipped.
"""

import asyncio
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from reefguard_trainer import contracts

REQUESTS_SUBJECT = "reefguard.v1.retrain.requests"
RESULTS_SUBJECT = "reefguard.v1.retrain.results"
STREAM = "REEFGUARD_RETRAIN"
DURABLE = "trainer-retrain-worker"


def load_done(path: Path) -> set[str]:
    return set(json.loads(path.read_text())) if path.exists() else set()


def save_done(path: Path, done: set[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(sorted(done)))
    temporary.replace(path)


async def run_worker(
    nats_url: str,
    state_dir: Path,
    retrain: Callable[[dict[str, Any], Path], dict[str, Any]],
    stop: asyncio.Event,
    subjects: tuple[str, str] = (REQUESTS_SUBJECT, RESULTS_SUBJECT),
    stream: str = STREAM,
) -> int:
    """Handles requests until `stop` is set; returns how many it trained on.
    `retrain(request, scratch_dir)` exports the newest data and trains (pipeline.run_training)."""
    requests_subject, results_subject = subjects
    done_path = state_dir / "retrain" / "done.json"
    done = load_done(done_path)
    connection = await nats.connect(nats_url)
    trained = 0
    try:
        js = connection.jetstream()
        await js.add_stream(name=stream, subjects=[requests_subject, results_subject])
        subscription = await js.pull_subscribe(
            requests_subject,
            durable=DURABLE,
            stream=stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=1800),
        )
        while not stop.is_set():
            try:
                messages = await subscription.fetch(1, timeout=0.5)
            except TimeoutError:
                continue
            for message in messages:
                request = json.loads(message.data)
                contracts.validate("retrain-request", request)
                if request["id"] in done:
                    await message.ack()
                    continue
                with tempfile.TemporaryDirectory() as scratch:
                    outcome = await asyncio.to_thread(retrain, request, Path(scratch))
                result = {"request_id": request["id"], "trace_id": request["trace_id"], **outcome}
                await js.publish(
                    results_subject,
                    json.dumps(result).encode(),
                    headers={"Nats-Msg-Id": f"result-{request['id']}"},
                )
                done.add(request["id"])
                save_done(done_path, done)
                await message.ack()
                trained += 1
    finally:
        await connection.close()
    return trained
