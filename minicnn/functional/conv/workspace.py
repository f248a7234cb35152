"""Reusable scratch buffers for im2col's large temporaries (the column matrix and its gradient).

Why not allocate them afresh each call: a column matrix is often tens of MiB, and glibc serves
allocations above its mmap threshold (at most 32 MiB) with new pages from the kernel every
time; the first write to each page then faults. On vgg_3x3 (a 58 MiB column matrix) building
the columns took 17 ms into a fresh array and 6 ms into a reused one. So each thread keeps one
buffer per role and hands out views of it; a view stays valid until the next request for the
same role in the same thread, which is all im2col needs (it never keeps a column matrix).
"""
from __future__ import annotations

import math
import threading

import numpy as np


class _Buffers(threading.local):
    def __init__(self):
        self.arrays: dict[tuple, object] = {}


_buffers = _Buffers()


def scratch(role: str, shape: tuple, dtype, xp):
    """An uninitialised ``xp`` array of ``shape``, backed by this thread's buffer for ``role``."""
    size = math.prod(shape)
    key = (role, xp.__name__, np.dtype(dtype).str)
    buffer = _buffers.arrays.get(key)
    if buffer is None or buffer.size < size:
        buffer = xp.empty(size, dtype=dtype)
        _buffers.arrays[key] = buffer
    return buffer[:size].reshape(shape)


def release_scratch() -> None:
    """Free this thread's buffers (they are bounded by the workspace limit, but may be large)."""
    _buffers.arrays.clear()
