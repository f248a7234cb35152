"""Small CUDA launches for Numba's CUDA simulator, which runs every GPU thread as a Python thread."""
from __future__ import annotations

import pytest

from minicnn.tuned.gpu import launch as cuda_launch  # imports no numba.cuda: the simulator setting stays open

# The compile-time tile settings of direct_conv.cu the tests build and launch: (tile side,
# grad-weight threads) — the default, and two small ones that make tiny shapes span many tiles.
TILE_SETTINGS = [cuda_launch.tile_constants(), (4, 32), (3, 8)]
TILE_IDS = [f"tile{tile}-threads{threads}" for tile, threads in TILE_SETTINGS]


def shrink_cuda_launches(monkeypatch: pytest.MonkeyPatch) -> None:
    """3x3 direct-conv tiles, 8-thread grad-weight blocks, 16-thread elementwise blocks: a tiny
    shape then runs in seconds under the simulator, and spans several tiles and tap groups —
    the index arithmetic worth checking."""
    monkeypatch.setattr(cuda_launch, "TILE", 3)
    monkeypatch.setattr(cuda_launch, "WEIGHT_THREADS", 8)
    monkeypatch.setattr(cuda_launch, "ELEMENTWISE_THREADS", 16)
