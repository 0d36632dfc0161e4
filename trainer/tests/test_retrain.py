"""Retrain worker against a private nats-server (JetStream) started by the test."""

import asyncio
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import nats
import pytest

from reefguard_trainer import contracts
from reefguard_trainer.pipeline import Settings, run_training
from reefguard_trainer.retrain import run_worker, trace_tags
from reefguard_trainer.train import TrainOptions
from reefguard_trainer.vit import VitParams
from reefguard_trainer.xgb import XgbParams

pytestmark = pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs nats-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def nats_url(tmp_path: Path):
    port = free_port()
    server = subprocess.Popen(
        ["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(tmp_path / "js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"nats://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def request(request_id: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "id": request_id,
        "trace_id": f"trace-{request_id}-abcd",
        "reason": "drift",
        "features": ["dhw_max_ytd"],
        "requested_at": "2026-11-29T04:00:00.000Z",
        "requested_by": "stream-processor",
    }


def test_worker_trains_once_per_request_id_and_publishes_contract_results(
    nats_url: str, training_set_dir: Path, tmp_path: Path
) -> None:
    subjects = (f"test.{tmp_path.name}.requests", f"test.{tmp_path.name}.results")
    stream = f"T{abs(hash(tmp_path.name))}"
    settings = Settings(tmp_path / "state", "unused", "unused", nats_url)
    options = TrainOptions(XgbParams(n_estimators=10), VitParams(epochs=1, max_rows=200))
    calls: list[str] = []

    def retrain(req: dict[str, Any], _scratch: Path) -> dict[str, Any]:
        calls.append(req["id"])
        if req["id"] == "r-3":
            raise FileNotFoundError("no training set at /nowhere")
        return run_training(settings, training_set_dir, options, use_mlflow=False)

    async def scenario() -> tuple[int, list[dict[str, Any]]]:
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(nats_url, settings.state_dir, retrain, stop, subjects, stream)
        )
        connection = await nats.connect(nats_url)
        js = connection.jetstream()
        await asyncio.sleep(1.0)  # the worker creates the stream
        await js.publish(subjects[0], b'{"id": "no schema"}')  # dropped, never trained
        for request_id in ("r-1", "r-1", "r-2", "r-3"):  # r-1 redelivered: same effect once
            await js.publish(subjects[0], json.dumps(request(request_id)).encode())
        results = []
        subscription = await js.subscribe(subjects[1])
        deadline = time.monotonic() + 120
        while len(results) < 3 and time.monotonic() < deadline:
            try:
                message = await subscription.next_msg(timeout=1)
                results.append(json.loads(message.data))
                await message.ack()
            except TimeoutError:
                continue
        await asyncio.sleep(1.0)
        stop.set()
        handled = await worker
        await connection.close()
        return handled, results

    handled, results = asyncio.run(scenario())
    assert calls == ["r-1", "r-2", "r-3"]
    assert handled == 3
    for result in results:
        contracts.validate("retrain-result", result)
    assert [(r["request_id"], r["status"], r["model_version"]) for r in results] == [
        ("r-1", "succeeded", "1"),
        ("r-2", "succeeded", "2"),
        ("r-3", "failed", None),
    ]
    assert [r["trace_id"] for r in results] == [
        "trace-r-1-abcd",
        "trace-r-2-abcd",
        "trace-r-3-abcd",
    ]
    assert results[0]["id"] == "result/r-1"
    assert results[0]["data_version"] and results[0]["threshold"] is not None
    assert len(results[0]["held_out_events"]) == 4
    assert 0 <= results[0]["metrics"]["model"]["auroc"] <= 1
    assert results[2]["reason"] == "training failed: FileNotFoundError: no training set at /nowhere"
    done = json.loads((settings.state_dir / "retrain" / "done.json").read_text())
    assert done == ["r-1", "r-2", "r-3"]


def test_trace_tags_carry_the_trace_and_the_request() -> None:
    assert trace_tags(request("r-9")) == {
        "trace_id": "trace-r-9-abcd",
        "retrain_request_id": "r-9",
    }
