"""``minicnn explain pool2d``: one small max or average pooling, every step printed.

As for conv2d, the numbers are the engine's: the windows (their size, stride, padding and
where each tap reads) from the pooling ops' own argument check, the padded input and the
window contents from the same strided view ``F.max_pool2d``/``F.avg_pool2d`` reduce, the
winners from ``max_pool2d(return_indices=True)`` and the divisors from ``avg_pool2d``'s rule.

The default is the classic 4x4 example: 2x2 max pooling with stride 2 gives [[6, 8], [3, 4]].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..functional.pooling._arguments import sliding_windows
from ..geometry import SlidingWindows
from ..functional.pooling.avg_pool import _divisors as avg_pool_divisors
from ..tensor import Tensor
from .grids import (
    IMAGE_VALUES, GridSpec, format_channels, format_grid, format_number, integer_fill, read_grid_spec,
    size_formula_lines,
)

CLASSIC_INPUT = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=np.float64)
MODES = ("max", "avg")


@dataclass(frozen=True)
class PoolSteps:
    """What minicnn computed for one pooling of a single image.

    input     (C, H, W)
    windows   the pooling's geometry (output size, kernel, stride, padding, dilation)
    padded    (C, Hp, Wp): the input with the border the windows need (-inf for max, 0 for avg)
    taps      (C, Ho, Wo, KH, KW): the values each window reads
    output    (C, Ho, Wo)
    winners   (C, Ho, Wo) flat index row*W + col of each max in the input (max), else None
    divisors  (Ho, Wo) what each window's sum is divided by (avg), else None
    """

    mode: str
    input: np.ndarray
    windows: SlidingWindows
    padded: np.ndarray
    taps: np.ndarray
    output: np.ndarray
    winners: np.ndarray | None
    divisors: np.ndarray | None
    ceil_mode: bool
    count_include_pad: bool


def pool_input(spec: GridSpec) -> np.ndarray:
    """The image to pool as float64 (C, H, W); the classic 4x4 example by default."""
    if spec is None:
        return CLASSIC_INPUT[None]
    value = read_grid_spec(spec, "explain pool2d: input")
    if isinstance(value, tuple):
        value = integer_fill(value, *IMAGE_VALUES)
    if value.ndim == 2:
        value = value[None]
    if value.ndim != 3:
        raise ValueError("explain pool2d: input must be 2-D (H, W) or 3-D (C, H, W), "
                         f"got shape {value.shape}")
    return value


def pool2d_steps(
    input: GridSpec = None,
    *,
    mode: str = "max",
    kernel_size=2,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    dtype=np.float32,
) -> PoolSteps:
    """Run one max_pool2d or avg_pool2d in minicnn and keep the windows; see :class:`PoolSteps`.

    The arguments are those of ``F.max_pool2d`` / ``F.avg_pool2d`` (avg has no dilation);
    ``stride`` None means stride = kernel_size.
    """
    if mode not in MODES:
        raise ValueError(f"explain pool2d: mode must be 'max' or 'avg', got {mode!r}")
    if mode == "avg" and dilation not in (1, (1, 1)):
        raise ValueError("explain pool2d: avg pooling has no dilation (as in torch)")
    x = Tensor(pool_input(input)[None].astype(dtype))  # (1, C, H, W)
    op = f"{mode}_pool2d"
    windows = sliding_windows(op, x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    winners = divisors = None
    if mode == "max":
        output, indices = F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode,
                                       return_indices=True)
        winners, fill = indices.numpy()[0], -np.inf  # -inf loses to every real value
    else:
        output = F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)
        divisors, fill = avg_pool_divisors(windows, count_include_pad), 0.0
    padded = windows.pad(x.array, fill)
    return PoolSteps(
        mode=mode, input=x.array[0], windows=windows, padded=padded[0],
        taps=windows.view(padded)[0], output=output.numpy()[0], winners=winners,
        divisors=divisors, ceil_mode=bool(ceil_mode), count_include_pad=count_include_pad,
    )


# ----------------------------------------------------------------------------- rendering
def _header(steps: PoolSteps) -> list[str]:
    w = steps.windows
    c, h, width = steps.input.shape
    options = f", ceil_mode={steps.ceil_mode}"
    if steps.mode == "avg":
        options += f", count_include_pad={steps.count_include_pad}"
    else:
        options += f", dilation={w.dilation}"
    return [
        f"{steps.mode}_pool2d step by step: F.{steps.mode}_pool2d, {steps.input.dtype}",
        f"kernel_size={w.kernel}, stride={w.stride}, padding={w.padding}{options}",
        "",
        f"input x: C = {c} channel(s) of H x W = {h} x {width}",
        *format_channels(steps.input),
    ]


def _output_size(steps: PoolSteps) -> list[str]:
    w = steps.windows
    rounding = "ceil" if steps.ceil_mode else "floor"
    lines = [f"1. Output size ({rounding} mode): windows start every stride from -padding."]
    for axis, (out, size, kernel) in enumerate([("Ho", "H", "KH"), ("Wo", "W", "KW")]):
        symbols = dict(size=size, pad="2*pad", dilation="dilation", kernel=kernel, stride="stride")
        numbers = dict(size=w.input_size[axis], pad=f"2*{w.padding[axis]}", dilation=w.dilation[axis],
                       kernel=w.kernel[axis], stride=w.stride[axis])
        result = w.output_size[axis]
        if steps.ceil_mode:
            # The formula's count, to set beside the engine's: ceil mode may drop the last window.
            span = (w.kernel[axis] - 1) * w.dilation[axis] + 1
            room = w.input_size[axis] + 2 * w.padding[axis] - span
            formula = -(-room // w.stride[axis]) + 1
        else:
            formula = result
        lines += size_formula_lines(out, symbols, numbers, formula, rounding, indent=3)
        if formula != result:
            lines.append(f"   but the last window would start in the padding after {size} and "
                         f"read no input: it is dropped, {out} = {result}")
    return lines


def _padded(steps: PoolSteps) -> list[str]:
    (top, bottom), (left, right) = steps.windows.border(0), steps.windows.border(1)
    if not any((top, bottom, left, right)):
        return ["2. Padding: none, the windows slide over the input itself."]
    fill = "-inf (it never wins a max)" if steps.mode == "max" else "0"
    return [f"2. Padded input: {fill} added, {top} row(s) on top, {bottom} below, {left} column(s) "
            f"left, {right} right",
            "   (below and right: only as far as the last window reaches).",
            *format_channels(steps.padded, indent=3)]


def _window_result(steps: PoolSteps, c: int, i: int, j: int) -> str:
    taps = steps.taps[c, i, j]
    value = format_number(steps.output[c, i, j])
    if steps.mode == "max":
        row, col = divmod(int(steps.winners[c, i, j]), steps.input.shape[2])
        return f"max = {value}, the input pixel at row {row}, column {col}"
    total = " + ".join(format_number(v) for v in taps.ravel())
    return f"({total}) / {format_number(steps.divisors[i, j])} = {value}"


def _windows(steps: PoolSteps) -> list[str]:
    w = steps.windows
    rows_read, cols_read = w.tap_coordinates(0), w.tap_coordinates(1)
    lines = ["3. Windows: y[c, i, j] reads input rows i*stride - pad + a*dilation (a < KH) and",
             "   columns j*stride - pad + b*dilation (b < KW); rows/columns outside the input are "
             "padding."]
    for c in range(steps.input.shape[0]):
        for i in range(w.output_size[0]):
            for j in range(w.output_size[1]):
                lines.append(f"   y[{c}, {i}, {j}]: input rows {rows_read[i].tolist()}, "
                             f"columns {cols_read[j].tolist()}")
                lines += format_grid(steps.taps[c, i, j], indent=5)
                lines.append("     " + _window_result(steps, c, i, j))
    return lines


def _output(steps: PoolSteps) -> list[str]:
    return [f"4. Output y = F.{steps.mode}_pool2d(x, ...): shape (C, Ho, Wo) = {steps.output.shape}",
            *format_channels(steps.output, indent=3)]


def _cost(steps: PoolSteps) -> list[str]:
    kh, kw = steps.windows.kernel
    work = "comparisons" if steps.mode == "max" else "additions and divisions"
    return [
        "5. Cost",
        f"   one operation per tap read ({work}): outputs * KH*KW = {steps.output.size} * {kh * kw} "
        f"= {steps.output.size * kh * kw:,}",
        f"   memory: input {steps.input.nbytes:,} bytes, output {steps.output.nbytes:,} bytes; "
        "no parameters",
    ]


def render_pool2d(steps: PoolSteps) -> str:
    sections = [_header, _output_size, _padded, _windows, _output, _cost]
    return "\n\n".join("\n".join(section(steps)) for section in sections) + "\n"


def explain_pool2d(input: GridSpec = None, **options) -> str:
    """The step-by-step text of one pooling; ``options`` are those of :func:`pool2d_steps`.

    ``explain_pool2d()`` explains 2x2 max pooling of the classic 4x4 example;
    ``explain_pool2d("5x5", mode="avg", kernel_size=3, stride=2, padding=1)`` an average pool.
    """
    return render_pool2d(pool2d_steps(input, **options))
