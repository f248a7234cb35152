"""Reusable scratch buffers for im2col's large temporaries (the column matrix and its gradient).

Why not allocate them afresh each call: a column matrix is often tens of MiB, and glibc serves
allocations above its mmap threshold (at most 32 MiB) with new pages from the kernel every
time; the first write to each page then faults, and on vgg_3x3 (a 58 MiB column matrix) that
made building the columns into a fresh array take about three times as long as into a reused
one. So each thread keeps one
buffer per role and hands out views of it; a view stays valid until the next request for the
same role in the same thread, which is all im2col needs for the matrices it does not keep.

The column matrix the forward keeps for the weight gradient outlives the call, so it cannot be
a scratch view; :func:`lend` gives it a buffer from a pool instead, which takes the buffer back
once the matrix is garbage, rather than keeping a fresh array whose pages the kernel zeroes
one by one on first write (benchmarks/results/2026-12-02-conv-im2col-column-order-vs-before.txt).
"""
from __future__ import annotations

import math
import threading
import weakref
from typing import Callable, TypeVar

import numpy as np

from ...allocator import MMAP_THRESHOLD


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


T = TypeVar("T")

# Buffers handed back by kept arrays, by (size, dtype): shared by all threads (a list's append
# and pop are atomic). The pool grows to the most kept arrays ever alive at once, per size.
_returned: dict[tuple, list] = {}

# Smaller arrays are not pooled: glibc serves them from the heap, whose freed pages it reuses
# (see minicnn.allocator), so they cost no page faults and pooling would only add its overhead.
POOL_MIN_BYTES = MMAP_THRESHOLD


def lend(shape: tuple, dtype, xp, build: Callable[[object], T]) -> T:
    """``build(buffer)``, on an uninitialised ``xp`` array of ``shape`` that its result may keep.

    The buffer comes from the pool and goes back to it when the array ``build`` returns is
    garbage. That array (the buffer, or a view of it) must be the only one kept: no other view
    of the buffer may outlive it. Arrays under :data:`POOL_MIN_BYTES` are not pooled, nor are
    CuPy arrays (CuPy pools its memory itself).
    """
    size, dtype = math.prod(shape), np.dtype(dtype)
    if xp is not np or size * dtype.itemsize < POOL_MIN_BYTES:
        return build(xp.empty(shape, dtype=dtype))
    key = (size, dtype.str)
    free = _returned.setdefault(key, [])
    try:
        buffer = free.pop()
    except IndexError:
        buffer = np.empty(size, dtype=dtype)
    kept = build(buffer.reshape(shape))
    weakref.finalize(kept, free.append, buffer).atexit = False
    return kept


def release_scratch() -> None:
    """Free this thread's buffers and the pool (bounded by the workspace limit, but may be large)."""
    _buffers.arrays.clear()
    _returned.clear()
