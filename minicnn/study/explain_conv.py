"""``minicnn explain conv2d``: one small convolution, every step printed.

The numbers come from the engine itself, never from arithmetic redone here: the geometry
(output size, padding per side) from conv2d's own argument check, the padded input and the
column matrix from the im2col algorithm's helpers, and the output from ``F.conv2d`` with the
chosen algorithm. What this module adds is the layout on the page, so a reader can check
each number by hand. For the ``winograd`` and ``fft`` algorithms a step 8 shows their own
transforms on filter 0 (:mod:`.explain_transforms`); the backward is :mod:`.explain_backward`.

The default is the textbook example (a 5x5 binary image, an "X"-shaped 3x3 kernel) whose
output is [[4, 3, 4], [2, 4, 3], [2, 3, 4]].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import functional as F
from ..functional.conv import get_default_algorithm
from ..geometry import ConvGeometry, conv2d_geometry
# im2col's column builder is what the im2col algorithm multiplies by; showing it (rather
# than a copy of its index arithmetic) is the point of this tool.
from ..functional.conv.im2col import im2col as im2col_columns
from ..geometry import pad_input
from ..tensor import Tensor
from .costs import conv2d_multiply_adds, flops
from .explain_transforms import (
    FFTSpectra, WinogradTile, fft_spectra, render_fft, render_winograd, winograd_tile,
)
from .grids import (
    IMAGE_VALUES, KERNEL_VALUES, GridSpec, format_channels, format_grid, format_labelled_grid,
    format_number, integer_fill, product_terms, read_grid_spec, side_by_side, size_formula_lines,
)

# The worked example found in most CNN courses: its first output is
# 1*1 + 1*0 + 1*1 + 0*0 + 1*1 + 1*0 + 0*1 + 0*0 + 1*1 = 4.
CLASSIC_INPUT = np.array([
    [1, 1, 1, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 0, 1, 1, 1],
    [0, 0, 1, 1, 0],
    [0, 1, 1, 0, 0],
], dtype=np.float64)
CLASSIC_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)

# The algorithms whose own transforms get a step of their own: how to compute and print it.
_TRANSFORMS = {"winograd": winograd_tile, "fft": fft_spectra}
_TRANSFORM_RENDERERS = {WinogradTile: render_winograd, FFTSpectra: render_fft}

# Sizes of the filled defaults, used when the classic example does not fit the requested
# channel counts.
DEFAULT_IMAGE_SIZE = (5, 5)
DEFAULT_KERNEL_SIZE = (3, 3)


@dataclass(frozen=True)
class ConvSteps:
    """What minicnn computed for one conv2d on a batch of one image.

    input     (C, H, W)
    weight    (C_out, C/groups, KH, KW)
    geometry  conv2d's validated arithmetic (output size, padding per side, …)
    padded    (C, H + top + bottom, W + left + right), what the windows slide over
    columns   (groups, C/groups*KH*KW, OH*OW): im2col's column matrix, one column per window
    output    (C_out, OH, OW), from ``F.conv2d(..., algorithm=algorithm)``
    arguments stride, padding, dilation and groups as given to ``F.conv2d`` (padding may be
              "same"), so that a later step (the backward's autograd check) runs the very
              same convolution
    transform for algorithm "winograd" or "fft": its transforms on filter 0 (see
              :mod:`.explain_transforms`); None for the other algorithms
    """

    input: np.ndarray
    weight: np.ndarray
    geometry: ConvGeometry
    padded: np.ndarray
    columns: np.ndarray
    output: np.ndarray
    algorithm: str
    arguments: dict[str, Any]
    transform: WinogradTile | FFTSpectra | None = None


def conv_input(spec: GridSpec, in_channels: int | None = None) -> np.ndarray:
    """The image to convolve as float64 (C, H, W); a 2-D grid is one channel."""
    if spec is None:
        if in_channels in (None, 1):
            return CLASSIC_INPUT[None]
        return integer_fill((in_channels, *DEFAULT_IMAGE_SIZE), *IMAGE_VALUES)
    value = read_grid_spec(spec, "explain conv2d: input")
    if isinstance(value, tuple):
        shape = (in_channels or 1, *value) if len(value) == 2 else value
        if len(shape) != 3:
            raise ValueError(f"explain conv2d: input shape must be HxW or CxHxW, got {value}")
        value = integer_fill(shape, *IMAGE_VALUES)
    if value.ndim == 2:
        value = value[None]
    if value.ndim != 3:
        raise ValueError("explain conv2d: input must be 2-D (H, W) or 3-D (C, H, W), "
                         f"got shape {value.shape}")
    if in_channels is not None and value.shape[0] != in_channels:
        raise ValueError(
            f"explain conv2d: in_channels={in_channels} but the input has {value.shape[0]} channel(s)")
    return value


def conv_weight(spec: GridSpec, in_channels: int, groups: int = 1,
                out_channels: int | None = None) -> np.ndarray:
    """The filters as float64 (C_out, C/groups, KH, KW).

    A 2-D grid is one filter slice; a stack of S slices (channels split by "|") is read as
    S / (C/groups) filters of C/groups slices each, filter by filter.
    """
    if groups < 1 or in_channels % groups:
        raise ValueError(
            f"explain conv2d: in_channels ({in_channels}) must be divisible by groups ({groups})")
    group_channels = in_channels // groups
    default_out = out_channels or groups  # at least one filter per group
    if spec is None:
        if default_out * group_channels == 1:
            return CLASSIC_KERNEL[None, None]
        return integer_fill((default_out, group_channels, *DEFAULT_KERNEL_SIZE), *KERNEL_VALUES)
    value = read_grid_spec(spec, "explain conv2d: kernel")
    if isinstance(value, tuple):
        shape = (default_out, group_channels, *value) if len(value) == 2 else value
        if len(shape) != 4:
            raise ValueError(
                f"explain conv2d: kernel shape must be KHxKW or C_outxCgxKHxKW, got {value}")
        value = integer_fill(shape, *KERNEL_VALUES)
    if value.ndim in (2, 3):
        slices = value.reshape(-1, *value.shape[-2:])
        if len(slices) % group_channels:
            raise ValueError(
                f"explain conv2d: each filter has C/groups = {group_channels} slice(s), so the kernel "
                f"needs a multiple of {group_channels} matrices, got {len(slices)}")
        value = slices.reshape(len(slices) // group_channels, group_channels, *value.shape[-2:])
    if value.ndim != 4:
        raise ValueError(f"explain conv2d: kernel must be 2-D, 3-D or 4-D, got shape {value.shape}")
    if out_channels is not None and value.shape[0] != out_channels:
        raise ValueError(f"explain conv2d: out_channels={out_channels} but the kernel holds "
                         f"{value.shape[0]} filter(s)")
    return value


def conv2d_steps(
    input: GridSpec = None,
    kernel: GridSpec = None,
    *,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    in_channels: int | None = None,
    out_channels: int | None = None,
    algorithm: str | None = None,
    dtype=np.float32,
) -> ConvSteps:
    """Run one conv2d (no bias) in minicnn and keep every intermediate array; see :class:`ConvSteps`.

    stride, padding ("same", "valid", int or pair), dilation, groups and algorithm mean what
    they mean for ``F.conv2d``; bad values raise conv2d's own errors.
    """
    image = conv_input(input, in_channels)
    x = Tensor(image[None].astype(dtype))                                   # (1, C, H, W)
    w = Tensor(conv_weight(kernel, image.shape[0], groups, out_channels).astype(dtype))
    name = algorithm or get_default_algorithm()
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    output = F.conv2d(x, w, **arguments, algorithm=name)
    geometry = conv2d_geometry(x.shape, w.shape, None, stride, padding, dilation, groups)
    # For a batch of one, the column matrix holds (group, row (c, i, j), column (p, q)) in
    # that order whether or not im2col keeps a batch axis; name the three axes explicitly.
    rows = w.shape[1] * w.shape[2] * w.shape[3]
    columns = im2col_columns(x.array, geometry).reshape(groups, rows, -1)
    padded = pad_input(x.array, geometry)[0]
    transform = None
    if name in _TRANSFORMS:
        direct = F.conv2d(x, w, **arguments, algorithm="direct")
        transform = _TRANSFORMS[name](padded, w.array, geometry, output.numpy()[0], direct.numpy()[0])
    return ConvSteps(
        input=x.array[0],
        weight=w.array,
        geometry=geometry,
        padded=padded,
        columns=columns,
        output=output.numpy()[0],
        algorithm=name,
        arguments=arguments,
        transform=transform,
    )


# ----------------------------------------------------------------------------- rendering
def _header(steps: ConvSteps) -> list[str]:
    g = steps.geometry
    c, h, w = steps.input.shape
    c_out, cg, kh, kw = steps.weight.shape
    top, bottom, left, right = g.padding
    lines = [
        f"conv2d step by step: F.conv2d(x, w, algorithm={steps.algorithm!r}), "
        f"{steps.input.dtype}, batch N = 1, no bias",
        f"stride (SH, SW) = {g.stride}, dilation (DH, DW) = {g.dilation}, groups = {g.groups},",
        f"padding (top, bottom, left, right) = ({top}, {bottom}, {left}, {right})",
        "",
        f"input x: C = {c} channel(s) of H x W = {h} x {w}",
        *format_channels(steps.input),
        f"weight w: C_out = {c_out} filter(s), each C/groups = {cg} channel(s) of KH x KW = {kh} x {kw}",
    ]
    for o in range(c_out):
        lines += format_channels(steps.weight[o], f"filter {o}, channel")
    return lines


def _output_size(steps: ConvSteps) -> list[str]:
    g = steps.geometry
    top, bottom, left, right = g.padding
    lines = ["1. Output size: windows start every stride and must fit inside the padded input."]
    for axis, (out, size, pads, pad_symbols, kernel) in enumerate([
        ("OH", "H", (top, bottom), "pad_top + pad_bottom", "KH"),
        ("OW", "W", (left, right), "pad_left + pad_right", "KW"),
    ]):
        symbols = dict(size=size, pad=pad_symbols, dilation="D" + size, kernel=kernel, stride="S" + size)
        numbers = dict(size=g.input_size[axis], pad=f"{pads[0]} + {pads[1]}",
                       dilation=g.dilation[axis], kernel=g.kernel_size[axis], stride=g.stride[axis])
        lines += size_formula_lines(out, symbols, numbers, g.output_size[axis], indent=3)
    return lines


def _padded(steps: ConvSteps) -> list[str]:
    if not steps.geometry.is_padded:
        return ["2. Padding: none, the windows slide over the input itself."]
    top, bottom, left, right = steps.geometry.padding
    return [f"2. Padded input: zeros added, {top} row(s) on top, {bottom} below, {left} column(s) "
            f"left, {right} right.", *format_channels(steps.padded, indent=3)]


def _windows(steps: ConvSteps) -> list[str]:
    """Every output value as the dot product of its window (a column of im2col) and a filter."""
    g = steps.geometry
    c_out, cg, kh, kw = steps.weight.shape
    filters_per_group = c_out // g.groups
    (sh, sw), (dh, dw), (oh, ow) = g.stride, g.dilation, g.output_size
    lines = ["3. Windows and dot products: y[o, p, q] reads padded rows p*SH + i*DH and",
             "   columns q*SW + j*DW (i < KH, j < KW) of the channels of filter o's group."]
    for o in range(c_out):
        group = o // filters_per_group
        for p in range(oh):
            for q in range(ow):
                window = steps.columns[group][:, p * ow + q].reshape(cg, kh, kw)
                rows = [p * sh + i * dh for i in range(kh)]
                cols = [q * sw + j * dw for j in range(kw)]
                lines.append(f"   y[{o}, {p}, {q}]: padded rows {rows}, columns {cols}")
                blocks, titles = [], []
                for c in range(cg):
                    blocks += [format_grid(window[c]), format_grid(steps.weight[o, c])]
                    titles += [f"window, channel {group * cg + c}", f"filter {o}, channel {c}"]
                lines += ["     " + line for line in side_by_side(blocks, titles)]
                lines.append(f"     = {product_terms(window, steps.weight[o])} "
                             f"= {format_number(steps.output[o, p, q])}")
    return lines


def _im2col(steps: ConvSteps) -> list[str]:
    g = steps.geometry
    _, cg, kh, kw = steps.weight.shape
    oh, ow = g.output_size
    rows, cols = steps.columns.shape[1:]
    lines = ["4. im2col: each window becomes one column of the matrix cols. Per group, cols has",
             f"   C/groups*KH*KW = {cg}*{kh}*{kw} = {rows} rows (c, i, j) and "
             f"OH*OW = {oh}*{ow} = {cols} columns (p, q)."]
    if steps.algorithm != "im2col":
        lines += ["   (the im2col view, for reference: step 6 was computed by the "
                  f"{steps.algorithm!r} algorithm,", "   which adds up the same products)"]
    row_labels = [f"c{c} i{i} j{j}" for c in range(cg) for i in range(kh) for j in range(kw)]
    column_labels = [f"({p},{q})" for p in range(oh) for q in range(ow)]
    for group, matrix in enumerate(steps.columns):
        channels = f"{group * cg}..{group * cg + cg - 1}" if cg > 1 else f"{group * cg}"
        lines.append(f"   group {group} (input channel(s) {channels}): cols shape ({rows}, {cols})")
        lines += format_labelled_grid(matrix, row_labels, column_labels, indent=5)
    return lines


def _gemm(steps: ConvSteps) -> list[str]:
    g = steps.geometry
    c_out = steps.weight.shape[0]
    per_group = c_out // g.groups
    rows, cols = steps.columns.shape[1:]
    oh, ow = g.output_size
    lines = [
        "5. GEMM: for each group g, y_g = W_g @ cols_g, where W_g holds the group's filters",
        "   flattened into rows (the same (c, i, j) order as the rows of cols):",
        f"   ({per_group} x {rows}) @ ({rows} x {cols}) -> ({per_group} x {cols}), one GEMM per "
        f"group ({g.groups} here, for N = 1);",
        f"   stacked by group and reshaped, that is y (C_out, OH, OW) = ({c_out}, {oh}, {ow}).",
    ]
    flat = steps.weight.reshape(g.groups, per_group, rows)
    for group in range(g.groups):
        lines.append(f"   W_{group} =")
        lines += format_grid(flat[group], indent=5)
    return lines


def _output(steps: ConvSteps) -> list[str]:
    return [f"6. Output y = F.conv2d(x, w, algorithm={steps.algorithm!r}): "
            f"shape (C_out, OH, OW) = {steps.output.shape}",
            *format_channels(steps.output, indent=3)]


def _cost(steps: ConvSteps) -> list[str]:
    c_out, cg, kh, kw = steps.weight.shape
    oh, ow = steps.geometry.output_size
    output_shape = (1, c_out, oh, ow)
    macs = conv2d_multiply_adds(output_shape, steps.weight.shape)
    itemsize = steps.input.dtype.itemsize
    memory = [("input x", steps.input)]
    if steps.geometry.is_padded:  # otherwise no padded copy exists
        memory.append(("padded input", steps.padded))
    memory += [("weight w", steps.weight), ("im2col columns", steps.columns),
               ("output y", steps.output)]
    lines = [
        "7. Cost",
        f"   multiply-adds = N*C_out*OH*OW * (C/groups*KH*KW) = 1*{c_out}*{oh}*{ow} * "
        f"({cg}*{kh}*{kw}) = {macs:,}",
        f"   FLOPs = 2 * multiply-adds = {flops(macs):,}",
        f"   memory at {itemsize} bytes per value ({steps.input.dtype}):",
    ]
    width = max(len(name) for name, _ in memory)
    for name, array in memory:
        lines.append(f"     {name.ljust(width)}  {array.size:>8,} values  {array.nbytes:>10,} bytes")
    lines.append(f"   the columns hold {steps.columns.size / steps.input.size:.2f}x the input's "
                 "values: each value is copied once per window covering it.")
    return lines


def conv2d_sections(steps: ConvSteps) -> list[str]:
    """The explanation's blocks of text: the header, then steps 1-7, then step 8 (the
    algorithm's transforms) for winograd and fft."""
    sections = [_header, _output_size, _padded, _windows, _im2col, _gemm, _output, _cost]
    texts = ["\n".join(section(steps)) for section in sections]
    if steps.transform is not None:
        render = _TRANSFORM_RENDERERS[type(steps.transform)]
        texts.append("\n".join(render(steps.transform, steps.geometry, len(sections))))
    return texts


def render_conv2d(steps: ConvSteps) -> str:
    return "\n\n".join(conv2d_sections(steps)) + "\n"


def explain_conv2d(input: GridSpec = None, kernel: GridSpec = None, **options) -> str:
    """The step-by-step text of one conv2d; ``options`` are those of :func:`conv2d_steps`.

    ``explain_conv2d()`` explains the classic 5x5 input with the 3x3 "X" kernel;
    ``explain_conv2d("4x4", "1,0;0,1", stride=2, padding=1)`` a filled 4x4 input.
    """
    return render_conv2d(conv2d_steps(input, kernel, **options))
