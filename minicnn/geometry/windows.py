"""Where the pooling windows lie: output sizes, padding and the strided window view.

Everything here is geometry of one (H, W) plane, shared by every image and channel. The
small per-axis tables (window starts, tap coordinates) are computed on the host with
NumPy; only the big arrays go through ``xp``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backends.arrays import array_module
from .taps import tap_range

Pair = tuple[int, int]


def pooled_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """Number of windows along one axis (torch's ``pooling_output_shape``).

    A window reads ``kernel`` taps ``dilation`` apart, so it spans
    ``span = (kernel - 1) * dilation + 1`` pixels. Windows start at ``-pad, -pad + stride, …``;
    the first has ``room = size + 2 * pad - span`` pixels left to slide over, so

        floor mode: out = floor(room / stride) + 1   (every window fits inside the padded input)
        ceil mode:  out = ceil(room / stride) + 1    (one more, partial window may hang over
                                                      the right/bottom border)

    but in ceil mode that extra window is dropped when it would start at or beyond
    ``size + pad`` — i.e. inside the right padding, where it would see no input at all.
    The last window must start inside the input or the left padding.
    """
    span = (kernel - 1) * dilation + 1
    room = size + 2 * pad - span
    if not ceil_mode:
        return room // stride + 1  # Python's // floors, like torch's div_rtn, also for room < 0
    out = -(-room // stride) + 1  # ceil division
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out


def adaptive_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Window ``i`` of an adaptive pool covers ``[floor(i*size/out), ceil((i+1)*size/out))``.

    The windows tile the axis exactly; when ``out`` does not divide ``size`` neighbours share
    a pixel (7 -> 3: [0,3) [2,5) [4,7)), and when ``out > size`` (upsampling, 5 -> 7) several
    windows cover the same single pixel. Returns (starts, ends), each of shape (out,).
    """
    i = np.arange(out)
    return (i * size) // out, -(-((i + 1) * size) // out)


@dataclass(frozen=True)
class SlidingWindows:
    """The windows of a max or average pool over an (H, W) plane; every field is an (H, W) pair.

    Window ``(i, j)`` reads the taps ``(i*stride_h - pad_h + a*dilation_h,
    j*stride_w - pad_w + b*dilation_w)`` for ``a < kernel_h``, ``b < kernel_w``.
    """

    input_size: Pair
    output_size: Pair
    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair

    def tap_coordinates(self, axis: int) -> np.ndarray:
        """(out, kernel) table along ``axis`` (0 = rows, 1 = columns): the input coordinate each
        tap of each window reads; padded taps have coordinates < 0 or >= size."""
        starts = np.arange(self.output_size[axis]) * self.stride[axis] - self.padding[axis]
        return starts[:, None] + np.arange(self.kernel[axis]) * self.dilation[axis]

    def border(self, axis: int) -> Pair:
        """(before, after) widths of padding that :meth:`pad` adds along ``axis``.

        Before: ``padding``. After: what the last window reaches — less than ``padding`` when
        the stride leaves the last pixels unread, more in ceil mode, where the last window
        hangs past the padded border.
        """
        span = (self.kernel[axis] - 1) * self.dilation[axis] + 1
        reach = (self.output_size[axis] - 1) * self.stride[axis] + span  # in padded coordinates
        before = self.padding[axis]
        return before, max(reach - before - self.input_size[axis], 0)

    def padded_size(self) -> Pair:
        return tuple(size + sum(self.border(axis)) for axis, size in enumerate(self.input_size))

    def pad(self, x, fill: float):
        """(N, C, H, W) -> (N, C, Hp, Wp): ``fill`` around the input, just enough for :meth:`view`."""
        widths = ((0, 0), (0, 0), self.border(0), self.border(1))
        if not any(w for pair in widths for w in pair):
            return x
        return array_module(x).pad(x, widths, constant_values=fill)

    def view(self, padded):
        """(N, C, Hp, Wp) -> (N, C, Ho, Wo, kh, kw) view: ``view[n, c, i, j, a, b] = padded[n, c,
        i*sh + a*dh, j*sw + b*dw]``. No data is copied: moving one output row jumps
        ``stride`` input rows, moving one tap jumps ``dilation`` input rows. Read only: many
        view elements alias the same memory when windows overlap.
        """
        xp = array_module(padded)
        n, c = padded.shape[:2]
        s_n, s_c, s_h, s_w = padded.strides  # in bytes
        shape = (n, c, *self.output_size, *self.kernel)
        strides = (
            s_n, s_c,
            s_h * self.stride[0], s_w * self.stride[1],
            s_h * self.dilation[0], s_w * self.dilation[1],
        )
        return xp.lib.stride_tricks.as_strided(padded, shape=shape, strides=strides)

    def axis_taps(self, axis: int) -> list[slice]:
        """For each kernel tap along ``axis`` (0 = rows, 1 = columns): the padded coordinates it
        reads for every window, as a slice.

        Tap a of window i is padded coordinate i*stride + a*dilation, so over the windows one
        tap reads one strided range with an element per output; tap (a, b) of a 2-D window
        reads the rows of row tap a crossed with the columns of column tap b.
        """
        count, stride, dilation = self.output_size[axis], self.stride[axis], self.dilation[axis]
        return [tap_range(a, dilation, stride, count) for a in range(self.kernel[axis])]

    def tap_slices(self):
        """For each kernel tap (a, b): the (rows, cols) slices of the padded input it reads.

        Over all windows one tap reads one strided slice with an element per output:
        (N, C, Ho, Wo). Looping over the kh*kw taps keeps every NumPy operation as large as
        the output.
        """
        for rows in self.axis_taps(0):
            for cols in self.axis_taps(1):
                yield rows, cols

    def crop(self, padded):
        """Inverse of :meth:`pad` for gradients: (N, C, Hp, Wp) -> (N, C, H, W)."""
        (top, left), (h, w) = self.padding, self.input_size
        return padded[:, :, top:top + h, left:left + w]
