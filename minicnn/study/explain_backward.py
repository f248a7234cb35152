"""``minicnn explain conv2d --backward``: the gradients of one small conv2d, every sum written out.

Given the upstream gradient g = dL/dy (C_out, OH, OW) — all ones, the gradient of L = y.sum(),
unless one is given — the three gradients as docs/tutorial/03-backward.md derives them, with
k = o // (C_out/groups) the group of filter o and Cg = C/groups its input channels:

    dL/db[o]          = sum over p, q of g[o, p, q]
    dL/dw[o, c, i, j] = sum over p, q of xpad[k*Cg + c, p*SH + i*DH, q*SW + j*DW] * g[o, p, q]
    dL/dxpad[k*Cg + c, r, s] = sum of g[o, p, q] * w[o, c, i, j] over the filters o of group k
                               and the (p, q, i, j) with r = p*SH + i*DH, s = q*SW + j*DW

The weight gradient is a correlation of the padded input with g. The input gradient is a
*transposed* convolution: g with SH - 1 zeros inserted between its rows and SW - 1 between its
columns (the positions the stride skipped), padded by the dilated kernel's extent minus one (a
"full" correlation), correlated with each kernel dilated and rotated 180 degrees, then cropped to
the unpadded input. For the im2col algorithm, the same input gradient as its code computes it:
dcols = W_g^T g_g, then col2im adds every column entry back into the pixel it was copied from.

Unlike the forward explanation, whose numbers come from the engine, these sums are computed
here from the definitions (that is what is explained); the last line checks every one of them
against minicnn's autograd: F.conv2d forward and backward with the same algorithm.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import functional as F
from ..geometry import tap_slice
from ..tensor import Tensor
from .explain_conv import ConvSteps, conv2d_sections, conv2d_steps
from .grids import (
    KERNEL_VALUES, GridSpec, format_channels, format_grid, format_labelled_grid, format_number,
    integer_fill, product_terms, read_grid_spec, side_by_side,
)

# A written-out sum longer than this many characters keeps its first terms and its last one;
# the sums of the classic 5x5/3x3 example (at most 9 terms each) stay whole.
SUM_WIDTH = 180

# How far a printed gradient may be from autograd's and still match, relative to the
# gradients' size: the explanation adds the same products, in another order.
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


@dataclass(frozen=True)
class AutogradGradients:
    """minicnn's own gradients: F.conv2d(x, w, b) with a zero bias, then y.backward(g).

    grad_input (C, H, W), grad_weight (C_out, C/groups, KH, KW), grad_bias (C_out,)
    """

    grad_input: np.ndarray
    grad_weight: np.ndarray
    grad_bias: np.ndarray


@dataclass(frozen=True)
class ConvBackwardSteps:
    """The backward of one conv2d on a batch of one image, every array the text prints.

    forward        the forward steps (:class:`ConvSteps`): input, weight, geometry, padded, ...
    grad_output    g = dL/dy (C_out, OH, OW)
    grad_bias      (C_out,): g summed over each channel
    weight_reads   (C_out, Cg, KH, KW, OH, OW): the padded-input values tap (o, c, i, j) met,
                   one per output; dL/dw[o, c, i, j] = sum(weight_reads[o, c, i, j] * g[o])
    grad_weight    (C_out, Cg, KH, KW)
    grad_full      (C_out, Hp + KHd - 1, Wp + KWd - 1): g with zeros between its entries (stride),
                   padded by KHd - 1 rows and KWd - 1 columns (full), plus any rows and columns
                   of the padded input that no window reached, below and right
    flipped        (C_out, Cg, KHd, KWd): each kernel dilated and rotated 180 degrees
    grad_padded    (C, Hp, Wp): the gradient of the padded input, by the transposed convolution
    grad_input     (C, H, W): grad_padded without the padding
    dcols          (groups, Cg*KH*KW, OH*OW): W_g^T g_g, the gradient of im2col's column matrix
    col2im_sources (channel, row, column) of each padded pixel -> the (row, column) entries of
                   dcols[group] that col2im adds into it, in window order
    col2im_grad_padded  (C, Hp, Wp): those sums
    autograd       minicnn's gradients, to check the printed ones against
    differences    name -> max |printed - autograd| for dL/dx, dL/dw, dL/db and col2im's dL/dx
    """

    forward: ConvSteps
    grad_output: np.ndarray
    grad_bias: np.ndarray
    weight_reads: np.ndarray
    grad_weight: np.ndarray
    grad_full: np.ndarray
    flipped: np.ndarray
    grad_padded: np.ndarray
    grad_input: np.ndarray
    dcols: np.ndarray
    col2im_sources: dict[tuple[int, int, int], tuple[tuple[int, int], ...]]
    col2im_grad_padded: np.ndarray
    autograd: AutogradGradients
    differences: dict[str, float]

    @property
    def tolerance(self) -> float:
        scale = 1.0 + max(float(np.abs(a).max()) for a in vars(self.autograd).values())
        return TOLERANCE[self.grad_output.dtype] * scale

    @property
    def matches(self) -> bool:
        """Every printed gradient is within :attr:`tolerance` of autograd's."""
        return all(d <= self.tolerance for d in self.differences.values())


class BackwardExplanation(NamedTuple):
    """What :func:`explain_conv_backward` returns: the structured steps and their text."""

    steps: ConvBackwardSteps
    text: str


# ------------------------------------------------------------------------- computation
def grad_output_array(spec: GridSpec, shape: tuple[int, int, int], dtype) -> np.ndarray:
    """g as ``dtype`` (C_out, OH, OW): all ones by default; a 2-D grid is one channel; a shape
    ("3x3", "2x3x3") is filled with small integers."""
    if spec is None:
        return np.ones(shape, dtype=dtype)
    value = read_grid_spec(spec, "explain conv2d: grad output")
    if isinstance(value, tuple):
        value = integer_fill((shape[0], *value) if len(value) == 2 else value, *KERNEL_VALUES)
    if value.ndim == 2:
        value = value[None]
    if value.shape != tuple(shape):
        raise ValueError("explain conv2d: the grad output must have the output's shape "
                         f"(C_out, OH, OW) = {tuple(shape)}, got {value.shape}")
    return value.astype(dtype)


def _weight_reads(forward: ConvSteps) -> np.ndarray:
    """(C_out, Cg, KH, KW, OH, OW): what each weight tap multiplied, one value per output."""
    geometry, padded = forward.geometry, forward.padded
    c_out, cg, kh, kw = forward.weight.shape
    per_group = c_out // geometry.groups
    reads = np.empty((c_out, cg, kh, kw, *geometry.output_size), dtype=padded.dtype)
    for o, c, i, j in itertools.product(range(c_out), range(cg), range(kh), range(kw)):
        _, _, rows, cols = tap_slice(geometry, i, j)  # rows p*SH + i*DH, columns q*SW + j*DW
        reads[o, c, i, j] = padded[(o // per_group) * cg + c, rows, cols]
    return reads


def _full_grad_output(g: np.ndarray, forward: ConvSteps) -> np.ndarray:
    """g zero-stuffed for the stride and zero-padded for the full correlation; see grad_full."""
    geometry = forward.geometry
    (sh, sw), (oh, ow) = geometry.stride, geometry.output_size
    (kdh, kdw), (hp, wp) = geometry.kernel_extent, geometry.padded_size
    full = np.zeros((g.shape[0], hp + kdh - 1, wp + kdw - 1), dtype=g.dtype)
    # g[o, p, q] lands where window (p, q)'s tap (0, 0) read, shifted by the full padding.
    full[:, kdh - 1 : kdh - 1 + sh * (oh - 1) + 1 : sh, kdw - 1 : kdw - 1 + sw * (ow - 1) + 1 : sw] = g
    return full


def _flipped_kernels(weight: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    """(C_out, Cg, KH, KW) -> (C_out, Cg, KHd, KWd): DH - 1 (DW - 1) zeros between the taps,
    then rotated 180 degrees."""
    (dh, dw), (c_out, cg, kh, kw) = dilation, weight.shape
    dilated = np.zeros((c_out, cg, dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=weight.dtype)
    dilated[:, :, ::dh, ::dw] = weight
    return dilated[:, :, ::-1, ::-1]


def _group_filters(channel: int, forward: ConvSteps) -> range:
    """The filters that read input ``channel``: those of its group."""
    c_out, cg = forward.weight.shape[:2]
    per_group = c_out // forward.geometry.groups
    group = channel // cg
    return range(group * per_group, (group + 1) * per_group)


def _input_terms(forward: ConvSteps, grad_full: np.ndarray, flipped: np.ndarray,
                channel: int, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
    """The products that make dL/dxpad[channel, row, col]: (g_full values, flipped-kernel values).

    Window (row, col) of ``grad_full`` against the flipped kernels of the channel's group, at the
    kernels' taps only (the zeros that dilation puts between them would add nothing).
    """
    cg = forward.weight.shape[1]
    (dh, dw), (kdh, kdw) = forward.geometry.dilation, forward.geometry.kernel_extent
    left, right = [], []
    for o in _group_filters(channel, forward):
        for a, b in itertools.product(range(0, kdh, dh), range(0, kdw, dw)):
            left.append(grad_full[o, row + a, col + b])
            right.append(flipped[o, channel % cg, a, b])
    return np.array(left, dtype=grad_full.dtype), np.array(right, dtype=grad_full.dtype)


def _transposed_convolution(forward: ConvSteps, grad_full: np.ndarray,
                            flipped: np.ndarray) -> np.ndarray:
    """dL/dxpad (C, Hp, Wp), each pixel the sum of its :func:`_input_terms`."""
    grad_padded = np.zeros_like(forward.padded)
    for channel, row, col in np.ndindex(*grad_padded.shape):
        left, right = _input_terms(forward, grad_full, flipped, channel, row, col)
        grad_padded[channel, row, col] = (left * right).sum()
    return grad_padded


def _accumulate_columns(dcols: np.ndarray, forward: ConvSteps):
    """col2im, one entry at a time: (sources per padded pixel, the padded-input gradient)."""
    geometry = forward.geometry
    c, (hp, wp) = forward.input.shape[0], geometry.padded_size
    _, cg, kh, kw = forward.weight.shape
    (sh, sw), (dh, dw), (oh, ow) = geometry.stride, geometry.dilation, geometry.output_size
    sources: dict[tuple[int, int, int], list[tuple[int, int]]] = {
        pixel: [] for pixel in itertools.product(range(c), range(hp), range(wp))}
    grad_padded = np.zeros((c, hp, wp), dtype=dcols.dtype)
    for p, q, group, ci, i, j in itertools.product(range(oh), range(ow), range(geometry.groups),
                                                   range(cg), range(kh), range(kw)):
        # Column (p, q), row (ci, i, j) is a copy of this pixel (im2col's index arithmetic).
        pixel = (group * cg + ci, p * sh + i * dh, q * sw + j * dw)
        entry = ((ci * kh + i) * kw + j, p * ow + q)
        sources[pixel].append(entry)
        grad_padded[pixel] += dcols[(group, *entry)]
    return {pixel: tuple(entries) for pixel, entries in sources.items()}, grad_padded


def _crop(grad_padded: np.ndarray, forward: ConvSteps) -> np.ndarray:
    top, _, left, _ = forward.geometry.padding
    h, w = forward.geometry.input_size
    return grad_padded[:, top : top + h, left : left + w]


def _autograd(forward: ConvSteps, g: np.ndarray) -> AutogradGradients:
    x = Tensor(forward.input[None].copy(), requires_grad=True)
    w = Tensor(forward.weight.copy(), requires_grad=True)
    b = Tensor(np.zeros(w.shape[0], dtype=g.dtype), requires_grad=True)
    y = F.conv2d(x, w, b, **forward.arguments, algorithm=forward.algorithm)
    y.backward(Tensor(g[None]))
    return AutogradGradients(x.grad.numpy()[0], w.grad.numpy(), b.grad.numpy())


def conv2d_backward_steps(input: GridSpec = None, kernel: GridSpec = None,
                          grad_output: GridSpec = None, **options) -> ConvBackwardSteps:
    """The forward steps of :func:`conv2d_steps` (``options`` are its keyword arguments:
    stride, padding, dilation, groups, in_channels, out_channels, algorithm, dtype), then the
    backward for the upstream gradient ``grad_output`` (C_out, OH, OW); see
    :class:`ConvBackwardSteps`."""
    forward = conv2d_steps(input, kernel, **options)
    g = grad_output_array(grad_output, forward.output.shape, forward.output.dtype)
    weight = forward.weight
    groups = forward.geometry.groups
    c_out, cg, kh, kw = weight.shape
    reads = _weight_reads(forward)
    grad_weight = (reads * g[:, None, None, None]).sum(axis=(-2, -1))

    flat_w = weight.reshape(groups, c_out // groups, cg * kh * kw)
    flat_g = g.reshape(groups, c_out // groups, -1)
    dcols = flat_w.transpose(0, 2, 1) @ flat_g                                  # W_g^T g_g
    sources, col2im_padded = _accumulate_columns(dcols, forward)

    grad_full = _full_grad_output(g, forward)
    flipped = _flipped_kernels(weight, forward.geometry.dilation)
    grad_padded = _transposed_convolution(forward, grad_full, flipped)
    grad_input, grad_bias = _crop(grad_padded, forward), g.sum(axis=(1, 2))
    auto = _autograd(forward, g)
    differences = {
        "dL/dx": _max_difference(grad_input, auto.grad_input),
        "dL/dw": _max_difference(grad_weight, auto.grad_weight),
        "dL/db": _max_difference(grad_bias, auto.grad_bias),
        "col2im dL/dx": _max_difference(_crop(col2im_padded, forward), auto.grad_input),
    }
    return ConvBackwardSteps(
        forward=forward, grad_output=g, grad_bias=grad_bias, weight_reads=reads,
        grad_weight=grad_weight, grad_full=grad_full, flipped=flipped, grad_padded=grad_padded,
        grad_input=grad_input, dcols=dcols, col2im_sources=sources,
        col2im_grad_padded=col2im_padded, autograd=auto, differences=differences,
    )


def _max_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b).max())


# ----------------------------------------------------------------------------- rendering
def _written_sum(terms: list[str], width: int = SUM_WIDTH, separator: str = " + ") -> str:
    """"t1 + t2 + ... + tn"; past ``width`` characters the middle terms give way to "..."."""
    text = separator.join(terms)
    if len(text) <= width:
        return text
    tail = f"{separator}...{separator}{terms[-1]} ({len(terms)} terms)"
    head: list[str] = []
    for term in terms[:-1]:
        if len(separator.join([*head, term])) + len(tail) > width:
            break
        head.append(term)
    return separator.join(head) + tail


def _products(left: np.ndarray, right: np.ndarray) -> str:
    return _written_sum([product_terms(a, b) for a, b in zip(left, right)])


def _value(value: float) -> str:
    text = format_number(value)
    return f"({text})" if text.startswith("-") else text


def _upstream(steps: ConvBackwardSteps, number: int, given: bool) -> list[str]:
    g = steps.grad_output
    where = "as given" if given else "all ones, the gradient of L = y.sum()"
    return [f"{number}. Backward. The upstream gradient g = dL/dy, shape (C_out, OH, OW) = "
            f"{g.shape},", f"   {where}:", *format_channels(g, indent=3)]


def _bias(steps: ConvBackwardSteps, number: int) -> list[str]:
    lines = [f"{number}. dL/db: every output y[o, p, q] adds the bias b[o] once, so dL/db[o] = "
             "sum over p, q of g[o, p, q].",
             "   (The forward has no bias; one would change none of the gradients.)"]
    for o, channel in enumerate(steps.grad_output):
        terms = _written_sum([_value(v) for v in channel.ravel()])
        lines.append(f"   dL/db[{o}] = {terms} = {format_number(steps.grad_bias[o])}")
    return lines


def _weight(steps: ConvBackwardSteps, number: int) -> list[str]:
    forward = steps.forward
    geometry = forward.geometry
    c_out, cg, kh, kw = forward.weight.shape
    (sh, sw), (dh, dw), (oh, ow) = geometry.stride, geometry.dilation, geometry.output_size
    per_group = c_out // geometry.groups
    lines = [
        f"{number}. dL/dw: the correlation of the padded input with g. Tap (i, j) of filter o "
        "met, in output (p, q),",
        "   the padded input at row p*SH + i*DH, column q*SW + j*DW (step 3's windows, read "
        "per tap: row (c, i, j)",
        "   of cols), so dL/dw[o, c, i, j] = sum over p, q of "
        "xpad[k*Cg + c, p*SH + i*DH, q*SW + j*DW] * g[o, p, q]",
        "   with k = o // (C_out/groups) the group of filter o and Cg = C/groups.",
    ]
    for o, c, i, j in itertools.product(range(c_out), range(cg), range(kh), range(kw)):
        reads = steps.weight_reads[o, c, i, j]
        channel = (o // per_group) * cg + c
        rows = [p * sh + i * dh for p in range(oh)]
        cols = [q * sw + j * dw for q in range(ow)]
        lines.append(f"   dL/dw[{o}, {c}, {i}, {j}]: padded rows {rows}, columns {cols} of input "
                     f"channel {channel}")
        lines += ["     " + line for line in side_by_side(
            [format_grid(reads), format_grid(steps.grad_output[o])], ["input read", f"g[{o}]"])]
        lines.append(f"     = {_products(reads.ravel(), steps.grad_output[o].ravel())} "
                     f"= {format_number(steps.grad_weight[o, c, i, j])}")
    lines.append(f"   dL/dw, shape {steps.grad_weight.shape}:")
    for o in range(c_out):
        lines += format_channels(steps.grad_weight[o], f"filter {o}, channel", indent=3)
    return lines


def _stuffing_lines(geometry) -> list[str]:
    (sh, sw) = geometry.stride
    if (sh, sw) == (1, 1):
        return ["   a. g_full: stride 1, so no zeros go between the entries of g; g is"]
    return [f"   a. g_full: g with SH - 1 = {sh - 1} zero row(s) between its rows and SW - 1 = "
            f"{sw - 1} zero column(s)",
            "      between its columns (the window positions the stride skipped),"]


def _input(steps: ConvBackwardSteps, number: int) -> list[str]:
    forward = steps.forward
    geometry = forward.geometry
    (sh, sw), (oh, ow) = geometry.stride, geometry.output_size
    (kdh, kdw), (hp, wp) = geometry.kernel_extent, geometry.padded_size
    extra_rows, extra_cols = hp - sh * (oh - 1) - kdh, wp - sw * (ow - 1) - kdw
    top, bottom, left, right = geometry.padding
    h, w = geometry.input_size
    cg = forward.weight.shape[1]
    lines = [
        f"{number}. dL/dx: a transposed convolution. Pixel xpad[k*Cg + c, r, s] was read by "
        "output (p, q) of filter o",
        "   (in group k) through tap (i, j) wherever r = p*SH + i*DH and s = q*SW + j*DW, so "
        "dL/dxpad[k*Cg + c, r, s]",
        "   is the sum of g[o, p, q] * w[o, c, i, j] over those. As one correlation:",
        *_stuffing_lines(geometry),
        f"      padded with KHd - 1 = {kdh - 1} row(s) above and below and KWd - 1 = "
        f"{kdw - 1} column(s) left and right",
        "      (a \"full\" correlation: border pixels, read by fewer windows, meet more zeros)",
    ]
    if extra_rows or extra_cols:
        lines.append(f"      and {extra_rows} more row(s) below, {extra_cols} more column(s) right: "
                     "padded-input positions no window reached.")
    lines.append(f"      Shape (C_out, Hp + KHd - 1, Wp + KWd - 1) = {steps.grad_full.shape}:")
    lines += format_channels(steps.grad_full, "g_full, filter", indent=6)
    dilated = ("dilated (DH - 1, DW - 1 zeros between the taps) and "
               if geometry.dilation != (1, 1) else "")
    lines.append(f"   b. The kernels {dilated}rotated 180 degrees,")
    kernel = "dilate(w[o, c])" if dilated else "w[o, c]"
    lines.append(f"      flipped[o, c] = {kernel}[::-1, ::-1], {kdh} x {kdw}:")
    for o in range(steps.flipped.shape[0]):
        lines += format_channels(steps.flipped[o], f"flipped, filter {o}, channel", indent=6)
    lines += [
        "   c. dL/dxpad[k*Cg + c, r, s] = sum over the filters o of group k and the taps (a, b) "
        "of the",
        f"      flipped kernel of g_full[o, r + a, s + b] * flipped[o, c, a, b]: g_full's "
        f"{kdh} x {kdw} window at (r, s)",
        "      against the flipped kernel",
    ]
    if geometry.dilation != (1, 1):
        lines.append("      (only at the kernel's taps: the zeros dilation put between them add "
                     "nothing)")
    for channel, row, col in np.ndindex(*steps.grad_padded.shape):
        filters = _group_filters(channel, forward)
        which = f"{filters[0]}" if len(filters) == 1 else f"{filters[0]}..{filters[-1]}"
        lines.append(f"      dL/dxpad[{channel}, {row}, {col}]: rows {row}..{row + kdh - 1}, "
                     f"columns {col}..{col + kdw - 1} of g_full[{which}], against "
                     f"flipped[{which}, {channel % cg}]")
        left_values, right_values = _input_terms(forward, steps.grad_full, steps.flipped,
                                                channel, row, col)
        lines.append(f"        = {_products(left_values, right_values)} "
                     f"= {format_number(steps.grad_padded[channel, row, col])}")
    lines.append(f"   d. dL/dxpad, shape (C, Hp, Wp) = {steps.grad_padded.shape}:")
    lines += format_channels(steps.grad_padded, indent=6)
    if geometry.is_padded:
        lines.append(f"      Without the padding (rows {top}..{top + h - 1}, columns "
                     f"{left}..{left + w - 1}; the zeros are no inputs), dL/dx =")
    else:
        lines.append("      No padding: dL/dx = dL/dxpad =")
    lines += format_channels(steps.grad_input, indent=6)
    return lines


def _column_labels(forward: ConvSteps) -> tuple[list[str], list[str]]:
    """Row labels "c0 i1 j2" and column labels "(p,q)", as step 4 prints cols."""
    _, cg, kh, kw = forward.weight.shape
    oh, ow = forward.geometry.output_size
    return ([f"c{c} i{i} j{j}" for c in range(cg) for i in range(kh) for j in range(kw)],
            [f"({p},{q})" for p in range(oh) for q in range(ow)])


def _dcols_section(steps: ConvBackwardSteps, number: int) -> list[str]:
    forward = steps.forward
    groups, rows, cols = steps.dcols.shape
    per_group = forward.weight.shape[0] // groups
    row_labels, column_labels = _column_labels(forward)
    lines = [
        f"{number}. im2col backward: y_g = W_g @ cols_g (step 5), so dL/dcols_g = W_g^T @ g_g, "
        "with g_g the group's",
        f"   channels of g flattened to rows: ({rows} x {per_group}) @ ({per_group} x {cols}) -> "
        f"({rows} x {cols}) per group.",
        "   Entry ((c, i, j), (p, q)) is the gradient of the copy of a pixel that column (p, q) "
        "holds in row",
        "   (c, i, j): the sum over the group's filters o of w[o, c, i, j] * g[o, p, q]. "
        "(And dL/dW_g = g_g @ cols_g^T",
        f"   is step {number - 2}'s sums as one GEMM.)",
    ]
    flat_g = steps.grad_output.reshape(groups, per_group, cols)
    for group in range(groups):
        lines.append(f"   group {group}: W_{group}^T and g_{group}")
        weight_t = forward.weight.reshape(groups, per_group, rows)[group].T
        lines += ["     " + line for line in side_by_side(
            [format_grid(weight_t), format_grid(flat_g[group])],
            [f"W_{group}^T ({rows} x {per_group})", f"g_{group} ({per_group} x {cols})"])]
        lines.append(f"     dcols_{group} = W_{group}^T @ g_{group}:")
        lines += format_labelled_grid(steps.dcols[group], row_labels, column_labels, indent=5)
    return lines


def _col2im_section(steps: ConvBackwardSteps, number: int) -> list[str]:
    forward = steps.forward
    cg = forward.weight.shape[1]
    row_labels, column_labels = _column_labels(forward)
    lines = [
        f"{number}. col2im: every entry of dcols goes back to the padded pixel its copy came "
        "from, row (c, i, j) of",
        "   column (p, q) to xpad[k*Cg + c, p*SH + i*DH, q*SW + j*DW]; a pixel that several "
        "windows read collects",
        "   one entry from each (where windows overlap, the entries add up):",
    ]
    for (channel, row, col), entries in steps.col2im_sources.items():
        name = f"   dL/dxpad[{channel}, {row}, {col}]"
        if not entries:
            lines.append(f"{name} = 0 (no window read it)")
            continue
        group = channel // cg
        labels = [f"[{row_labels[r]}, {column_labels[k]}]" for r, k in entries]
        values = [_value(steps.dcols[group, r, k]) for r, k in entries]
        total = format_number(steps.col2im_grad_padded[channel, row, col])
        lines.append(f"{name} = the sum of dcols_{group} at {_written_sum(labels, separator=', ')}")
        lines.append(f"{' ' * len(name)} = " + (f"{_written_sum(values)} = {total}"
                                                 if len(values) > 1 else total))
    lines.append(f"   Without the padding this is step {number - 2}'s dL/dx.")
    return lines


def _check(steps: ConvBackwardSteps, im2col: bool) -> str:
    shown = {name: d for name, d in steps.differences.items() if im2col or name != "col2im dL/dx"}
    differences = ", ".join(f"{name} {d:.2g}" for name, d in shown.items())
    verdict = "all match" if steps.matches else "MISMATCH"
    return (f"Check against minicnn's autograd (F.conv2d(x, w, b, algorithm="
            f"{steps.forward.algorithm!r}), then y.backward(g)): max |difference| {differences} "
            f"(tolerance {steps.tolerance:.2g}): {verdict}")


def backward_sections(steps: ConvBackwardSteps, first_number: int, given: bool = True) -> list[str]:
    """The backward's blocks of text, numbered from ``first_number``; the check line last.

    ``given`` says whether g was given (else it is all ones).
    """
    sections = [_upstream(steps, first_number, given)]
    for make in (_bias, _weight, _input):
        sections.append(make(steps, first_number + len(sections)))
    im2col = steps.forward.algorithm == "im2col"
    if im2col:
        for make in (_dcols_section, _col2im_section):
            sections.append(make(steps, first_number + len(sections)))
    texts = ["\n".join(lines) for lines in sections]
    return [*texts, _check(steps, im2col)]


def render_conv2d_backward(steps: ConvBackwardSteps, given: bool = True) -> str:
    """The forward's explanation, then the backward's."""
    forward = conv2d_sections(steps.forward)
    # the header is not numbered: the forward's last step is number len(forward) - 1
    backward = backward_sections(steps, len(forward), given)
    return "\n\n".join([*forward, *backward]) + "\n"


def explain_conv_backward(input: GridSpec = None, kernel: GridSpec = None,
                          grad_output: GridSpec = None, **options) -> BackwardExplanation:
    """The forward and backward of one conv2d, step by step: (steps, text).

    ``options`` are those of :func:`conv2d_backward_steps`. ``explain_conv_backward()`` explains
    the classic 5x5 input with the 3x3 "X" kernel and g = all ones;
    ``explain_conv_backward("2x7x7", "3x3", stride=2, padding=1, dilation=2, groups=2)`` a
    strided, dilated, grouped one.
    """
    steps = conv2d_backward_steps(input, kernel, grad_output, **options)
    return BackwardExplanation(steps, render_conv2d_backward(steps, grad_output is not None))
