"""A small training-set directory in exactly the format of `./reefguard features export`
(core/src/contracts/training-set.ts): training-set.parquet, chips.arrow, manifest.json.

Synthetic on purpose (the tests must be fast and must know the truth): 4 events, 60 rows
each, label drawn from a logistic in dhw_max_ytd relative to sst_clim_range, chips whose DHW
channel carries the site's DHW. The real export is exercised by the README's commands.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

FEATURES = [
    "dhw",
    "dhw_max_ytd",
    "dhw_prev_year_max",
    "hotspot",
    "sst_anomaly",
    "sst_daily_mean",
    "mmm",
    "sst_clim_mean",
    "sst_clim_range",
    "k490",
    "depth_m",
    "cyclone_exposure_h",
    "wind_speed_ms",
    "latitude",
]
CHANNELS = ["dhw_max_ytd", "dhw_prev_year_max", "sst_clim_range", "reef_mask"]
SIZE_PX = 8
EVENTS = [
    ("gbr-1998", "gbr-aerial"),
    ("gbr-2002", "gbr-aerial"),
    ("gcbd-2005", "gcbd"),
    ("gcbd-2006", "gcbd"),
]


def write_training_set(directory: Path, rows_per_event: int = 60, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    frames = []
    for event, source in EVENTS:
        n = rows_per_event
        lat = rng.uniform(-24, -10, n) if source == "gbr-aerial" else rng.uniform(-30, 30, n)
        dhw_max = rng.gamma(2.0, 2.0, n)
        clim_range = rng.uniform(4, 7, n)
        p = 1 / (1 + np.exp(-(1.2 * (dhw_max - 4) - 0.5 * (clim_range - 5.5))))
        frame = pd.DataFrame(
            {
                "site_id": [f"{event}-{i}" for i in range(n)],
                "event": event,
                "source": source,
                "as_of": f"{event[-4:]}-04-30",
                "lat": lat,
                "lon": rng.uniform(142, 153, n),
                "label": (rng.uniform(size=n) < p).astype(np.int32),
            }
        )
        frame["severity"] = frame["label"] * 2.0
        for name in FEATURES:
            frame[name] = rng.normal(0, 1, n)
        frame["dhw_max_ytd"] = dhw_max
        frame["dhw"] = dhw_max * rng.uniform(0.5, 1, n) if source == "gcbd" else np.nan
        frame["sst_clim_range"] = clim_range
        frame["latitude"] = lat
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    rows.insert(0, "row_id", np.arange(len(rows), dtype=np.int32))
    directory.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(directory / "training-set.parquet", index=False)

    chips = rng.normal(0, 0.1, (len(rows), len(CHANNELS), SIZE_PX, SIZE_PX)).astype(np.float32)
    chips[:, 0] += rows["dhw_max_ytd"].to_numpy(dtype=np.float32)[:, None, None]
    flat = pa.array(chips.reshape(len(rows), -1).ravel(), pa.float32())
    table = pa.table(
        {
            "row_id": pa.array(rows["row_id"].to_numpy(), pa.int32()),
            "chip": pa.FixedSizeListArray.from_arrays(flat, len(CHANNELS) * SIZE_PX * SIZE_PX),
        }
    )
    with ipc.new_file(directory / "chips.arrow", table.schema) as writer:
        writer.write_table(table)

    digest = hashlib.sha256()
    for name in ("training-set.parquet", "chips.arrow"):
        digest.update((directory / name).read_bytes())
    manifest = {
        "schema_version": 1,
        "data_version": digest.hexdigest(),
        "feature_set_version": "v1",
        "created_at": "2026-11-29T00:00:00.000Z",
        "rows": len(rows),
        "positives": int(rows["label"].sum()),
        "events": [
            {
                "event": e,
                "rows": int((rows.event == e).sum()),
                "positives": int(rows.label[rows.event == e].sum()),
            }
            for e, _ in EVENTS
        ],
        "features": FEATURES,
        "label": "label: synthetic moderate-or-worse bleaching",
        "chip": {"channels": CHANNELS, "size_px": SIZE_PX, "pixel_deg": 0.02},
        "sources": [],
        "notes": ["synthetic test fixture"],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


@pytest.fixture(scope="session")
def training_set_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_training_set(tmp_path_factory.mktemp("training-set"))
