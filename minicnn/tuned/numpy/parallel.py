"""Split a large memory-bound NumPy copy over the machine's cores.

im2col's copies (the input into the column matrix, the gradient back out of it) move tens of
MiB through strided views. NumPy runs such a copy on one core while the GEMM beside it uses
all of them, and one core does not saturate the memory bus: split over two cores, building
vgg_3x3's 55 MiB column matrix takes about half as long. NumPy
releases the GIL inside a copy or an in-place ufunc, so plain Python threads suffice: each
copies its own slice of the leading axis, writing disjoint parts of the output.

Copies below :data:`MIN_BYTES` stay on the calling thread, where handing work to another one
would cost more than it saves. CuPy arrays are never split: the GPU already runs the copy in
parallel.
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

MIN_BYTES = 4 * 2**20  # bytes touched, below which a copy runs on the calling thread


def cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.cache
def _helpers() -> ThreadPoolExecutor:
    """One thread per core beyond the caller's, started on first use and kept for the process."""
    return ThreadPoolExecutor(max_workers=max(cores() - 1, 1), thread_name_prefix="minicnn-copy")


def split_over_cores(work: Callable[[slice], None], length: int, array) -> None:
    """Call ``work(rows)`` for slices ``rows`` that together cover ``range(length)`` once each.

    ``array`` is the largest array the work touches: a NumPy array of at least
    :data:`MIN_BYTES` is split into one slice per core (the calling thread takes the first),
    anything else is done in one call. ``work`` must write only the rows it is given.
    """
    parts = min(cores(), length) if isinstance(array, np.ndarray) and array.nbytes >= MIN_BYTES else 1
    if parts <= 1:
        work(slice(0, length))
        return
    bounds = [length * part // parts for part in range(parts + 1)]
    slices = [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]
    others = [_helpers().submit(work, rows) for rows in slices[1:]]
    work(slices[0])
    for done in others:
        done.result()  # re-raises an exception from a helper thread
