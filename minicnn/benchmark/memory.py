"""Peak memory of one call of a case: what it allocates above its inputs, seen by tracemalloc.

NumPy reports every array it allocates to :mod:`tracemalloc`, so tracing one call gives the
most memory the call held at once beyond what existed before it: the output, the gradients
(fwd+bwd), what autograd keeps between the two, and the algorithm's workspace (im2col's column
matrix, the FFT's spectra). The call is untimed and comes after a warm-up call (Numba's JIT
compiled, ``auto``'s choice made), with minicnn's reusable conv workspaces released first
(:func:`minicnn.tuned.numpy.release_scratch`), so that the scratch buffers a
call needs are counted although a warm process already holds them.

Not seen: torch's allocator, CuPy's GPU memory pool and arrays allocated inside
Numba-compiled code (Numba's own allocator); torch and GPU cases report None.
"""
from __future__ import annotations

import gc
import tracemalloc
from typing import Callable

from ..tuned.numpy import release_scratch
from .cases import Case, step
from .timing import Step


def peak_bytes(run: Step, release: Callable[[], None] = release_scratch) -> int:
    """Peak traced bytes above the starting point during one ``run()``, after one untimed ``run()``.

    Works inside a program that is tracing already (``python -X tracemalloc``): its tracing is
    left on and only the peak is reset.
    """
    run()
    release()
    gc.collect()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return max(0, tracemalloc.get_traced_memory()[1] - before)
    finally:
        if not tracing:
            tracemalloc.stop()


def case_peak_bytes(case: Case) -> int | None:
    """:func:`peak_bytes` of the case's step; None where tracemalloc cannot see the memory."""
    implementation = case.implementation
    if implementation.is_torch or implementation.device != "cpu":
        return None
    with implementation.scope(case.differentiates):
        return peak_bytes(step(case))
