"""The kernels' shared index arithmetic (minicnn.tuned.index_math), in plain Python, against
brute-force enumeration of every output, tap and input position over many sizes, strides,
paddings and dilations; and its compiled versions (Numba CPU) against the Python ones.

The brute force restates only the convention — output p reads input p*stride + i*dilation - padding
through tap i — and searches; it shares no formula with the module.
"""
from __future__ import annotations

import itertools
import subprocess
import sys

import numba
import pytest

from minicnn.tuned import index_math
from minicnn.tuned.index_math import (
    first_tap_at_or_after_border, input_extent, output_reading, valid_outputs, window_reads_input,
)

LENGTHS = range(0, 7)
STRIDES = range(1, 5)
OFFSETS = range(-7, 8)


@pytest.mark.parametrize("stride", STRIDES)
def test_valid_outputs_is_the_contiguous_range_of_outputs_that_read_inside(stride):
    for out_len, in_len, offset in itertools.product(LENGTHS, LENGTHS, OFFSETS):
        inside = [p for p in range(out_len) if 0 <= p * stride + offset < in_len]
        lo, hi = valid_outputs(out_len, in_len, stride, offset)
        assert 0 <= lo <= hi <= max(out_len, lo), (out_len, in_len, stride, offset)
        assert list(range(lo, hi)) == inside, (out_len, in_len, stride, offset)


@pytest.mark.parametrize("dilation", range(1, 5))
def test_window_reads_input_when_any_tap_lands_inside(dilation):
    for start, taps, size in itertools.product(OFFSETS, range(1, 5), range(1, 7)):
        want = any(0 <= start + a * dilation < size for a in range(taps))
        assert window_reads_input(start, taps, dilation, size) == want, (start, taps, dilation, size)


@pytest.mark.parametrize("dilation", range(1, 5))
def test_first_tap_at_or_after_border_is_the_first_tap_not_in_the_leading_padding(dilation):
    for start in range(-12, 8):
        want = next(start + a * dilation for a in itertools.count() if start + a * dilation >= 0)
        assert first_tap_at_or_after_border(start, dilation) == want, (start, dilation)


@pytest.mark.parametrize("stride, dilation", list(itertools.product(STRIDES, range(1, 4))))
def test_output_reading_finds_the_one_output_whose_tap_reads_a_position(stride, dilation):
    for out_len, taps, padding in itertools.product(range(0, 6), range(1, 4), range(0, 4)):
        in_len = input_extent(max(out_len, 1), taps, stride, dilation)  # every read position, and more
        for position, tap in itertools.product(range(-2, in_len + 2), range(taps)):
            readers = [p for p in range(out_len) if p * stride + tap * dilation - padding == position]
            assert len(readers) <= 1
            got = output_reading(position, tap, dilation, stride, padding, out_len)
            assert got == (readers[0] if readers else -1), (position, tap, dilation, stride, padding, out_len)


@pytest.mark.parametrize("stride, dilation", list(itertools.product(STRIDES, range(1, 4))))
def test_input_extent_spans_the_first_to_the_last_position_read(stride, dilation):
    for outputs, kernel in itertools.product(range(1, 7), range(1, 5)):
        read = {p * stride + i * dilation for p in range(outputs) for i in range(kernel)}
        assert input_extent(outputs, kernel, stride, dilation) == max(read) - min(read) + 1


def test_compile_for_compiles_every_shared_function_and_links_them_to_each_other():
    compiled = index_math.compile_for(numba.njit(inline="always"))
    assert sorted(vars(compiled)) == sorted(f.__name__ for f in index_math.SHARED)
    for start, taps, dilation, size in itertools.product(range(-6, 4), range(1, 4), range(1, 4), range(1, 5)):
        # window_reads_input calls valid_outputs: compiled, it must reach the compiled one
        assert compiled.window_reads_input(start, taps, dilation, size) == window_reads_input(start, taps, dilation, size)
        assert compiled.valid_outputs(taps, size, dilation, start) == valid_outputs(taps, size, dilation, start)
        assert compiled.first_tap_at_or_after_border(start, dilation) == first_tap_at_or_after_border(start, dilation)
        assert (compiled.output_reading(start + 3, taps - 1, dilation, 2, 1, size)
                == output_reading(start + 3, taps - 1, dilation, 2, 1, size))
        assert compiled.input_extent(size, taps, 2, dilation) == input_extent(size, taps, 2, dilation)
    assert index_math.window_reads_input.__globals__ is vars(index_math)  # the Python originals are untouched


def test_the_module_imports_no_numba():
    code = "import sys, minicnn.tuned.index_math; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
