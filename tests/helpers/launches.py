"""Small CUDA launches for Numba's CUDA simulator, which runs every GPU thread as a Python thread."""
from __future__ import annotations

import pytest

from minicnn.tuned.gpu import launch as cuda_launch  # imports no numba.cuda: the simulator setting stays open


def shrink_cuda_launches(monkeypatch: pytest.MonkeyPatch) -> None:
    """3x3 direct-conv tiles, 8-thread grad-weight blocks, 16-thread elementwise blocks: a tiny
    shape then runs in seconds under the simulator, and spans several tiles and tap groups —
    the index arithmetic worth checking."""
    monkeypatch.setattr(cuda_launch, "TILE", 3)
    monkeypatch.setattr(cuda_launch, "WEIGHT_THREADS", 8)
    monkeypatch.setattr(cuda_launch, "ELEMENTWISE_THREADS", 16)
