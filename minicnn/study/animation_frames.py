"""What each frame of a sliding-window animation shows, as plain data (no matplotlib).

A conv2d or pooling animation has one frame per output position (p, q), after
:data:`TITLE_FRAMES` title frame(s). The frame of (p, q) highlights the input cells that output
reads: kernel tap (a, b) reads padded cell

    (p * stride_h + a * dilation_h,  q * stride_w + b * dilation_w)

which is input cell (row - pad_top, col - pad_left), or padding when that falls outside the
input. The sizes come from minicnn's own argument checks (``conv2d_geometry`` and the pooling
ops' ``sliding_windows``), so the picture and the engine agree on every output size, and an
impossible combination fails with the engine's own message. :mod:`.animation` draws these.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..functional.conv import conv2d_geometry
from ..functional.pooling._arguments import sliding_windows

Pair = tuple[int, int]
IntOrPair = int | Pair
TITLE_FRAMES = 1  # frames before the first window: the empty grids, the sizes and the formula


@dataclass(frozen=True)
class Tap:
    """One kernel tap of one window: kernel (a, b) reads padded cell ``padded``; ``input`` is
    that cell in input coordinates, None where it is padding (or, in ceil mode, past it)."""

    kernel: Pair
    padded: Pair
    input: Pair | None


@dataclass(frozen=True)
class Window:
    """The frame of output position ``output`` = (p, q): the taps it reads, in kernel order."""

    output: Pair
    taps: tuple[Tap, ...]

    @property
    def padded_cells(self) -> set[Pair]:
        return {tap.padded for tap in self.taps}

    @property
    def input_cells(self) -> set[Pair]:
        return {tap.input for tap in self.taps if tap.input is not None}


@dataclass(frozen=True)
class SlidingAnimation:
    """Everything an animation draws, for one (H, W) plane.

    op            "conv2d" or e.g. "max_pool2d"
    input_size    (H, W) before padding
    grid_size     (rows, cols) of the drawn grid: the padded input, plus, in ceil mode, the
                  cells the last window hangs over beyond the padding
    pad_before    (top, left): input cell (r, c) is grid cell (r + top, c + left)
    padded_size   (rows, cols) of input plus padding (the cells inside it that are not input
                  are padding; grid cells beyond it are the ceil-mode overhang)
    kernel_size, stride, dilation, output_size   (rows, cols) pairs
    groups        conv2d only (1 for pooling): input channel c and output channel o of group
                  g = c // (channels / groups) see only each other
    windows       one :class:`Window` per output position, row by row
    title         the first line of every frame
    formulas      one line per axis: the output-size formula with the numbers put in
    """

    op: str
    input_size: Pair
    grid_size: Pair
    pad_before: Pair
    padded_size: Pair
    kernel_size: Pair
    stride: Pair
    dilation: Pair
    output_size: Pair
    groups: int
    windows: tuple[Window, ...]
    title: str
    formulas: tuple[str, str]

    @property
    def frame_count(self) -> int:
        return TITLE_FRAMES + len(self.windows)

    @property
    def channels(self) -> int:
        """Channels drawn: one input and one output channel per group."""
        return self.groups

    def cell_kind(self, cell: Pair) -> str:
        """"input", "padding" or "overhang" (ceil mode: past the padding; pooling ignores it)."""
        (r, c), (top, left), (h, w) = cell, self.pad_before, self.input_size
        if top <= r < top + h and left <= c < left + w:
            return "input"
        return "padding" if r < self.padded_size[0] and c < self.padded_size[1] else "overhang"


def _windows(output_size: Pair, stride: Pair, dilation: Pair, kernel: Pair, pad_before: Pair,
             input_size: Pair) -> tuple[Window, ...]:
    windows = []
    for p in range(output_size[0]):
        for q in range(output_size[1]):
            taps = []
            for a in range(kernel[0]):
                for b in range(kernel[1]):
                    padded = (p * stride[0] + a * dilation[0], q * stride[1] + b * dilation[1])
                    r, c = padded[0] - pad_before[0], padded[1] - pad_before[1]
                    inside = 0 <= r < input_size[0] and 0 <= c < input_size[1]
                    taps.append(Tap((a, b), padded, (r, c) if inside else None))
            windows.append(Window((p, q), tuple(taps)))
    return tuple(windows)


def _pair_text(name: str, pair: Pair) -> str:
    return f"{name} {pair[0]}" if pair[0] == pair[1] else f"{name} {pair[0]}x{pair[1]}"


def _sizes_title(op: str, input_size: Pair, kernel: Pair, stride: Pair, padding: str,
                 dilation: Pair, extra: str) -> str:
    return (f"{op}: input {input_size[0]}x{input_size[1]}, kernel {kernel[0]}x{kernel[1]}, "
            f"{_pair_text('stride', stride)}, {padding}, "
            f"{_pair_text('dilation', dilation)}{extra}")


def conv_animation(input_size: IntOrPair, kernel_size: IntOrPair, stride: IntOrPair = 1,
                   padding: IntOrPair | str = 0, dilation: IntOrPair = 1,
                   groups: int = 1) -> SlidingAnimation:
    """The frames of a conv2d over one (H, W) plane per group; arguments as ``F.conv2d``'s.

    ``input_size`` is H or (H, W). Drawn with one input and one output channel per group
    (weight (groups, 1, KH, KW)), which is the least that shows what groups change: each
    output channel reads only its own group's input channels.
    """
    h, w = _as_pair(input_size)
    kh, kw = _as_pair(kernel_size)
    geometry = conv2d_geometry((1, groups, h, w), (groups, 1, kh, kw), None, stride=stride,
                               padding=padding, dilation=dilation, groups=groups)
    top, bottom, left, right = geometry.padding
    oh, ow = geometry.output_size
    formulas = tuple(
        f"{axis} = floor(({size} + {before} + {after} - {d}*({k}-1) - 1) / {s}) + 1 = {out}"
        for axis, size, before, after, d, k, s, out in (
            ("OH", h, top, bottom, geometry.dilation[0], kh, geometry.stride[0], oh),
            ("OW", w, left, right, geometry.dilation[1], kw, geometry.stride[1], ow)))
    # "same" with an even kernel pads one more after than before: then all four are shown.
    pad_text = (_pair_text("padding", (top, left)) if (top, left) == (bottom, right)
                else f"padding {top},{bottom} x {left},{right}")
    title = _sizes_title("conv2d", (h, w), (kh, kw), geometry.stride, pad_text, geometry.dilation,
                         f", groups {groups} -> output {oh}x{ow}")
    return SlidingAnimation(
        op="conv2d", input_size=(h, w), grid_size=geometry.padded_size, pad_before=(top, left),
        padded_size=geometry.padded_size, kernel_size=(kh, kw), stride=geometry.stride,
        dilation=geometry.dilation, output_size=(oh, ow), groups=groups,
        windows=_windows((oh, ow), geometry.stride, geometry.dilation, (kh, kw), (top, left), (h, w)),
        title=title, formulas=formulas)


def pool_animation(input_size: IntOrPair, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                   padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
                   mode: str = "max") -> SlidingAnimation:
    """The frames of a max or average pooling over one (H, W) plane; arguments as
    ``F.max_pool2d``'s (``stride`` None = the kernel size). In ceil mode the last window may
    hang past the padding: those cells are drawn as overhang (the pool reads nothing there).
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"pool animation: mode must be 'max' or 'avg', got {mode!r}")
    if mode == "avg" and _as_pair(dilation) != (1, 1):
        raise ValueError("pool animation: avg pooling has no dilation (as in torch)")
    h, w = _as_pair(input_size)
    op = f"{mode}_pool2d"
    windows = sliding_windows(op, (1, 1, h, w), kernel_size, stride, padding, dilation,
                              bool(ceil_mode))
    formulas = tuple(_pool_formula(name, windows.input_size[i], windows.padding[i],
                                   windows.dilation[i], windows.kernel[i], windows.stride[i],
                                   windows.output_size[i], bool(ceil_mode))
                     for i, name in enumerate(("OH", "OW")))
    oh, ow = windows.output_size
    title = _sizes_title(op, (h, w), windows.kernel, windows.stride,
                         _pair_text("padding", windows.padding), windows.dilation, f", ceil_mode {bool(ceil_mode)} -> output {oh}x{ow}")
    padded = (h + 2 * windows.padding[0], w + 2 * windows.padding[1])
    # The engine pads only as far as the windows reach (less than the padding where the
    # stride leaves the last cells unread, more in ceil mode); the picture shows all of both.
    grid = tuple(max(a, b) for a, b in zip(padded, windows.padded_size()))
    return SlidingAnimation(
        op=op, input_size=(h, w), grid_size=grid, pad_before=windows.padding,
        padded_size=padded, kernel_size=windows.kernel, stride=windows.stride,
        dilation=windows.dilation, output_size=(oh, ow), groups=1,
        windows=_windows((oh, ow), windows.stride, windows.dilation, windows.kernel,
                         windows.padding, (h, w)),
        title=title, formulas=formulas)


def _pool_formula(axis: str, size: int, pad: int, dilation: int, kernel: int, stride: int,
                  out: int, ceil_mode: bool) -> str:
    """The pooled-size formula with the numbers; in ceil mode, say when torch's rule dropped
    a last window that would have started in the right padding."""
    room = size + 2 * pad - dilation * (kernel - 1) - 1
    rounded = -(-room // stride) if ceil_mode else room // stride
    text = (f"{axis} = {'ceil' if ceil_mode else 'floor'}(({size} + 2*{pad} - {dilation}*({kernel}-1)"
            f" - 1) / {stride}) + 1 = {rounded + 1}")
    if rounded + 1 != out:
        text += f" - 1 = {out} (the last window would start in the padding: dropped)"
    return text


def _as_pair(value: IntOrPair) -> Pair:
    if isinstance(value, int):
        return (value, value)
    rows, cols = value
    return (int(rows), int(cols))
