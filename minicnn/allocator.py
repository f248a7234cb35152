"""Keep freed memory for reuse: two glibc malloc settings that stop temporaries page-faulting.

Every op of an array library returns a new array, so a training step allocates and frees the
same few sizes (a layer's activations, its gradient, a column matrix) hundreds of times a
second. glibc decides afresh each time where such a block comes from. Above its *mmap
threshold* it maps fresh pages from the kernel and unmaps them on free; below it, a block
comes from the heap, but the heap is handed back to the kernel whenever more than the *trim
threshold* lies free at its top. Both thresholds move as the program runs, so whether a given
activation lands on pages already mapped, or on new ones that fault on their first write,
depends on the history of the process. On LeNet-5 training (batch 64, the 2-core machine) a
step took 10 ms with no faults and 15-20 ms with 1,000-1,700 page faults per step, from one
run to the next of the same code.

:func:`keep_freed_memory` fixes both thresholds: blocks up to 32 MiB (glibc's largest allowed
mmap threshold) come from the heap, and the heap is never trimmed, so freed memory is simply
reused. The price is that the process keeps its peak heap size instead of returning it.
``import minicnn`` calls it once; set ``MINICNN_MALLOC_TUNING=0`` in the environment before the
import to leave the allocator alone. Elsewhere than glibc (macOS, musl, Windows) it does nothing.
PyTorch, when imported in the same process (as the tests and benchmarks do), runs under the
same settings.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

# mallopt parameter numbers, from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 2**20  # bytes; glibc refuses larger values on 64-bit systems
TRIM_THRESHOLD = 2**31 - 1  # bytes, the largest int: never trim the heap


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds (see the module docstring). True if they were set."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # no C library by that name, or no mallopt in it
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success; fixing either threshold also stops glibc adjusting the other.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def tuning_enabled() -> bool:
    """Whether ``import minicnn`` should call :func:`keep_freed_memory` (MINICNN_MALLOC_TUNING != "0")."""
    return os.environ.get("MINICNN_MALLOC_TUNING", "1") != "0"
