"""The index arithmetic of the hand-written kernels, written once as plain Python.

The Numba CPU kernels (:mod:`minicnn.tuned.numba.kernels`) and the Numba CUDA kernels
(:mod:`minicnn.tuned.numba_cuda.kernels`) ask the same questions of a sliding window — which
output positions read inside the image, which output a given input position feeds, where a
window's first tap lands — so the answers live here, once, and :func:`compile_for` compiles them
for each target: ``numba.njit(inline="always")`` on the CPU, ``numba.cuda.jit(device=True,
inline="always")`` on the GPU — inlined into the calling kernel in Numba's IR on both. Uncompiled,
they are ordinary functions, which the tests check against brute-force enumeration
(tests/test_index_math.py) and the host side calls (the launch shapes of
:mod:`minicnn.tuned.gpu.launch`). ``kernels/common.cuh`` spells the same formulas in CUDA C.

The convention throughout: output position p reads, through tap i, the input position

    p*stride + i*dilation - padding

and an input position outside [0, in_len) is padding (zero, or -inf for max pooling). Python's ``//`` and ``%`` floor, also for
negative numbers, and the compiled versions keep that meaning. This module imports no Numba, so
that importing it never decides whether numba.cuda is the simulator or the driver.
"""
from __future__ import annotations

import types
from typing import Callable


def valid_outputs(out_len: int, in_len: int, stride: int, offset: int) -> tuple[int, int]:
    """[lo, hi): the output positions p < out_len whose input position p*stride + offset is in [0, in_len).

    lo is the first p with p*stride >= -offset, i.e. ceil(-offset / stride) when offset < 0;
    hi - 1 is the last p with p*stride + offset <= in_len - 1. Empty (lo == hi) when none is.
    For tap i of every output, offset = i*dilation - padding. With the taps as "outputs" (out_len = KH, stride = DH, offset = the window's first row) it
    gives the taps of one window that lie inside the image.
    """
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = 0 if offset >= in_len else min(out_len, (in_len - 1 - offset) // stride + 1)
    return lo, max(lo, hi)


def window_reads_input(start: int, taps: int, dilation: int, size: int) -> bool:
    """Whether any of the taps start, start + dilation, …, start + (taps-1)*dilation lands in [0, size).

    A window can miss the image only through dilation (its taps then straddle the padding).
    """
    lo, hi = valid_outputs(taps, size, dilation, start)
    return hi > lo


def first_tap_at_or_after_border(start: int, dilation: int) -> int:
    """The coordinate torch reports for a max-pool window's winner when every tap is -inf: its first tap.

    A first tap in the top/left padding (start < 0) is replaced by the window's first tap at or
    after the border; taps are ``dilation`` apart, so that is ``start mod dilation``.
    """
    return start % dilation if start < 0 else start


def output_reading(position: int, tap: int, dilation: int, stride: int, padding: int, out_len: int) -> int:
    """The output position p whose tap ``tap`` reads input ``position``, or -1 if none does.

    Tap i of output p reads p*stride + i*dilation - padding (the top or left padding), so
    p = (position + padding - i*dilation) / stride where that is a whole number in [0, out_len).
    At most one p qualifies: different outputs read different inputs through one tap. This is
    how a gathering backward (grad input, col2im) finds what one input pixel fed.
    """
    shifted = position + padding - tap * dilation  # = p * stride for the p that reads this position
    if shifted < 0 or shifted % stride != 0 or shifted // stride >= out_len:
        return -1
    return shifted // stride


def input_extent(outputs: int, kernel: int, stride: int, dilation: int) -> int:
    """How many consecutive input positions ``outputs`` consecutive outputs read, padding included:
    from the first output's first tap to the last output's last tap, (outputs-1)*stride +
    (kernel-1)*dilation + 1. The side of the input patch a tile of outputs stages."""
    return (outputs - 1) * stride + (kernel - 1) * dilation + 1


SHARED = (valid_outputs, window_reads_input, first_tap_at_or_after_border, output_reading, input_extent)


def compile_for(decorate: Callable[[Callable], Callable]) -> types.SimpleNamespace:
    """Every function of :data:`SHARED`, compiled by ``decorate``, as attributes of one namespace.

    ``decorate`` is a target's decorator, e.g. ``numba.njit(inline="always")``. A compiled
    function must call the compiled versions of the others (window_reads_input calls
    valid_outputs), never these Python ones, which no compiler can call: so each is compiled from
    a copy whose globals name the compiled functions. The compilers read globals when they first
    compile, at a kernel's first launch, by which time the namespace is complete.
    """
    names = dict(globals())  # the copies' globals: this module's, with the shared names compiled
    compiled = {}
    for function in SHARED:
        copy = types.FunctionType(function.__code__, names, function.__name__, function.__defaults__,
                                  function.__closure__)
        copy.__doc__, copy.__qualname__ = function.__doc__, function.__qualname__
        compiled[function.__name__] = decorate(copy)
    names.update(compiled)
    return types.SimpleNamespace(**compiled)
