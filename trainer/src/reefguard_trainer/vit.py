"""ViT member: a small vision transformer on the multi-channel chips around each site.

Patches of the chip (channels: DHW of the year, past DHW, SST range, K490, depth, reef mask)
become tokens; a few attention layers pool them into one bleaching logit. The per-channel
normalisation is a buffer of the module, so the ONNX graph takes raw chips. Small enough to
train on 2 CPU cores in seconds; seeded and deterministic.

Given `offset` (the physics prior's margin per row), the ViT learns a residual logit:
the loss is on offset + vit_logit, unweighted, so the sum stays a calibrated probability and
a ViT that finds nothing in the chips learns to say ~0.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class VitParams:
    patch_px: int = 4
    dim: int = 32
    layers: int = 1
    heads: int = 2
    epochs: int = 3
    batch_size: int = 256
    learning_rate: float = 3e-3
    max_rows: int = 6000
    """Training rows per fit (a seeded subsample): keeps CPU training in seconds."""


def torch_threads(threads: int) -> int:
    """One intra-op thread: the model is too small for a second one to pay off, and on a
    shared 2-core machine OpenMP barriers spin against other work (measured under load: a
    6,000-row fit took 73 s on 2 threads, 10 s on 1)."""
    return max(1, min(threads, 1))


class ChipVit(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, channels: int, size_px: int, params: VitParams, mean: np.ndarray, std: np.ndarray
    ) -> None:
        super().__init__()
        if size_px % params.patch_px:
            raise ValueError(f"chip size {size_px} is not a multiple of patch {params.patch_px}")
        tokens = (size_px // params.patch_px) ** 2
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.embed = nn.Conv2d(channels, params.dim, params.patch_px, stride=params.patch_px)
        self.position = nn.Parameter(torch.zeros(1, tokens, params.dim))
        layer = nn.TransformerEncoderLayer(
            params.dim, params.heads, params.dim * 2, dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, params.layers, enable_nested_tensor=False)
        self.head = nn.Linear(params.dim, 1)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        x = (torch.nan_to_num(chips) - self.mean) / self.std
        tokens = self.embed(x).flatten(2).transpose(1, 2) + self.position
        pooled = self.encoder(tokens).mean(dim=1)
        return self.head(pooled).squeeze(-1)


def channel_stats(chips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.nanmean(chips, axis=(0, 2, 3))
    std = np.nanstd(chips, axis=(0, 2, 3))
    return np.nan_to_num(mean), np.where(np.nan_to_num(std) > 1e-6, std, 1.0)


def fit_vit(
    chips: np.ndarray,
    y: np.ndarray,
    params: VitParams,
    seed: int,
    threads: int,
    offset: np.ndarray | None = None,
) -> ChipVit:
    torch.manual_seed(seed)
    torch.set_num_threads(torch_threads(threads))
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(seed)
    index = np.arange(len(y))
    if len(index) > params.max_rows:
        index = np.sort(rng.choice(index, params.max_rows, replace=False))
    mean, std = channel_stats(chips[index])
    model = ChipVit(chips.shape[1], chips.shape[2], params, mean, std)
    x = torch.from_numpy(np.ascontiguousarray(chips[index]))
    t = torch.from_numpy(y[index].astype(np.float32))
    if offset is None:
        positives = float(t.sum())
        weight = torch.tensor((len(t) - positives) / max(positives, 1.0))
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=weight)
        base = torch.zeros(len(t))
    else:
        loss_fn = nn.BCEWithLogitsLoss()
        base = torch.from_numpy(offset[index].astype(np.float32))
    optimiser = torch.optim.AdamW(model.parameters(), lr=params.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(params.epochs):
        order = torch.randperm(len(t), generator=generator)
        for start in range(0, len(t), params.batch_size):
            batch = order[start : start + params.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(x[batch]) + base[batch], t[batch])
            loss.backward()
            optimiser.step()
    model.eval()
    return model


def predict_vit_logit(model: ChipVit, chips: np.ndarray, threads: int) -> np.ndarray:
    torch.set_num_threads(torch_threads(threads))
    out = []
    with torch.no_grad():
        for start in range(0, len(chips), 4096):
            out.append(model(torch.from_numpy(np.ascontiguousarray(chips[start : start + 4096]))))
    return torch.cat(out).numpy().astype(np.float32) if out else np.zeros(0, np.float32)
