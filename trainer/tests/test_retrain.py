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

from reefguard_trainer.pipeline import Settings, run_training
from reefguard_trainer.retrain import run_worker
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
        "trace_id": "trace-0001-abcd",
        "reason": "drift",
        "features": ["dhw_max_ytd"],
        "requested_at": "2026-11-29T04:00:00.000Z",
        "requested_by": "stream-processor",
    }


def test_worker_trains_once_per_request_id_and_publishes_the_result(
    nats_url: str, training_set_dir: Path, tmp_path: Path
) -> None:
    subjects = (f"test.{tmp_path.name}.requests", f"test.{tmp_path.name}.results")
    stream = f"T{abs(hash(tmp_path.name))}"
    settings = Settings(tmp_path / "state", "unused", "unused", nats_url)
    options = TrainOptions(XgbParams(n_estimators=10), VitParams(epochs=1, max_rows=200))
    calls: list[str] = []

    def retrain(req: dict[str, Any], _scratch: Path) -> dict[str, Any]:
        calls.append(req["id"])
        result = run_training(settings, training_set_dir, options, use_mlflow=False)
        return {"version": result["version"], "aliases": result["aliases"]}

    async def scenario() -> tuple[int, list[dict[str, Any]]]:
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(nats_url, settings.state_dir, retrain, stop, subjects, stream)
        )
        connection = await nats.connect(nats_url)
        js = connection.jetstream()
        await asyncio.sleep(1.0)  # the worker creates the stream
        for request_id in ("r-1", "r-1", "r-2"):  # r-1 redelivered: same effect once
            await js.publish(subjects[0], json.dumps(request(request_id)).encode())
        results = []
        subscription = await js.subscribe(subjects[1])
        deadline = time.monotonic() + 120
        while len(results) < 2 and time.monotonic() < deadline:
            try:
                message = await subscription.next_msg(timeout=1)
                results.append(json.loads(message.data))
                await message.ack()
            except TimeoutError:
                continue
        await asyncio.sleep(1.0)
        stop.set()
        trained = await worker
        await connection.close()
        return trained, results

    trained, results = asyncio.run(scenario())
    assert calls == ["r-1", "r-2"]
    assert trained == 2
    assert [(r["request_id"], r["version"]) for r in results] == [("r-1", "1"), ("r-2", "2")]
    assert results[1]["aliases"] == {"champion": "1", "challenger": "2"}
    done = json.loads((settings.state_dir / "retrain" / "done.json").read_text())
    assert done == ["r-1", "r-2"]
