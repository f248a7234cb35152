"""Keep freed memory for reuse: two glibc malloc settings that stop temporaries page-faulting.

Every op of an array library returns a new array, so a training step allocates and frees the
same few sizes (a layer's activations, its gradient, a column matrix) hundreds of times a
second. glibc decides afresh each time where such a block comes from. Above its *mmap
threshold* it maps fresh pages from the kernel and unmaps them on free; below it, a block
comes from the heap, but the heap is handed back to the kernel whenever more than the *trim
threshold* lies free at its top. Both thresholds move as the program runs, so whether a given
activation lands on pages already mapped, or on new ones that fault on their first write,
depends on the history of the process.

:func:`keep_freed_memory` fixes both thresholds: blocks up to 32 MiB (glibc's largest allowed
mmap threshold) come from the heap, and the heap is never trimmed, so freed memory is simply
reused. The price is that the process keeps its peak heap size instead of returning it.

The setting is process-wide — every library in the process allocates through the same malloc,
torch included — so ``import minicnn`` never applies it: a program asks for it by calling
:func:`keep_freed_memory`. The ``minicnn train`` and ``minicnn bench`` commands do (unless
``MINICNN_MALLOC_TUNING=0`` is set in the environment, :func:`command_setting`) and say so in
their output; the benchmarks in ``benchmarks/`` do too and record it with every result, because
it changes every library's times (torch's included) and so is part of the method. glibc offers
no way back to its adaptive thresholds, so there is no undo. Elsewhere than glibc (macOS, musl,
Windows) it does nothing and says so.
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

_tuned = False  # whether keep_freed_memory() has fixed the thresholds in this process
_unavailable = False  # whether it was called where there is no glibc mallopt


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for the whole process (see the module docstring).

    Returns True if they are now fixed (also on a second call), False where there is no glibc
    mallopt to call.
    """
    global _tuned, _unavailable
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # no C library by that name, or no mallopt in it
        _unavailable = True
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success; fixing either threshold also stops glibc adjusting the other.
    fixed = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    _tuned = _tuned or fixed
    _unavailable = _unavailable or not fixed
    return fixed


def freed_memory_kept() -> bool:
    """Whether :func:`keep_freed_memory` has fixed the thresholds in this process."""
    return _tuned


def describe() -> str:
    """The allocator setting in force, for the output of a command or the header of a table."""
    if _tuned:
        return (f"glibc malloc keeps freed memory (minicnn.allocator.keep_freed_memory(): mmap "
                f"threshold {MMAP_THRESHOLD // 2**20} MiB, heap never trimmed), for every library in the process")
    if not tuning_enabled():
        why = "MINICNN_MALLOC_TUNING=0"
    elif _unavailable:
        why = "no glibc mallopt here"
    else:
        why = "minicnn.allocator.keep_freed_memory() not called"
    return f"malloc at its defaults ({why})"


def tuning_enabled() -> bool:
    """Whether the ``minicnn`` commands apply :func:`keep_freed_memory` (MINICNN_MALLOC_TUNING != "0")."""
    return os.environ.get("MINICNN_MALLOC_TUNING", "1") != "0"


def command_setting() -> str:
    """What ``minicnn train`` and ``minicnn bench`` do first: keep freed memory unless the
    environment opts out; returns :func:`describe`'s statement of the setting, to print."""
    if tuning_enabled():
        keep_freed_memory()
    return describe()
