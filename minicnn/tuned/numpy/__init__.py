"""The "numpy" backend's own implementations: the reference algorithms, tuned for NumPy.

Registered, on import, as what conv2d runs on NumPy arrays by default:

- "im2col"   :mod:`.im2col`   — a column order chosen per layer, batch chunks under a workspace
             limit, reused and pooled column buffers (:mod:`.workspace`), copies split over the
             cores (:mod:`.parallel`), the stride-1 input gradient as one convolution
- "winograd" :mod:`.winograd` — the transforms as whole-array additions, separable, split over the cores

"direct" and "fft" run their references (:mod:`minicnn.functional.conv`) as they are. Each tuned
module is tested against its reference on the full argument sweep (tests/test_tuned.py).
The code is written against ``xp`` like the references, so other backends may register it too.
"""
from ...backends.registry import register
from . import im2col, winograd
from .im2col import get_workspace_limit, set_workspace_limit
from .workspace import release_scratch

BACKEND = "numpy"

register("conv2d", "im2col", im2col, backend=BACKEND)
register("conv2d", "winograd", winograd, backend=BACKEND)

__all__ = ["get_workspace_limit", "release_scratch", "set_workspace_limit"]
