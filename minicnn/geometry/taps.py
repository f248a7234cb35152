"""Kernel taps and padding: the index arithmetic every sliding-window op shares (conv2d, pooling).

Output position p of a window op with stride S reads, through kernel tap a with dilation D,
the padded input at ``p*S + a*D``. For a convolution, output pixel (p, q) reads through tap (i, j)

    row = p*SH + i*DH,    column = q*SW + j*DW.

For a fixed tap those positions form a strided slice of the padded input with one element
per output pixel; :func:`tap_slice` builds it. The conv algorithms differ in what they do with
the slices (copy them all into one column matrix, or multiply them one at a time).
"""
from __future__ import annotations

from ..backends.arrays import array_module
from .conv import ConvGeometry


def tap_range(tap: int, dilation: int, stride: int, count: int) -> slice:
    """The padded-input positions tap ``tap`` reads for outputs 0 … count-1, as a slice.

    Over all outputs p = 0 … count-1 the tap reads a*D, a*D + S, …, a*D + S*(count-1). The stop
    is one past the last position read, so the slice has exactly ``count`` elements even when
    the stride does not divide the padded size.
    """
    start = tap * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)


def pad_input(x, geom: ConvGeometry):
    """(N, C, H, W) -> (N, C, H + top + bottom, W + left + right), zeros around; x itself if unpadded."""
    if not geom.is_padded:
        return x
    xp = array_module(x)
    top, _, left, _ = geom.padding
    height, width = geom.input_size
    padded = xp.zeros(x.shape[:2] + geom.padded_size, dtype=x.dtype)
    padded[:, :, top : top + height, left : left + width] = x
    return padded


def crop_padding(grad_padded, geom: ConvGeometry):
    """Inverse of :func:`pad_input` for gradients: the gradient of the zeros is dropped (a view)."""
    if not geom.is_padded:
        return grad_padded
    top, _, left, _ = geom.padding
    height, width = geom.input_size
    return grad_padded[:, :, top : top + height, left : left + width]


def tap_slice(geom: ConvGeometry, i: int, j: int) -> tuple[slice, slice, slice, slice]:
    """Index into a padded (N, C, Hp, Wp) array selecting what tap (i, j) reads: (N, C, OH, OW)."""
    (sh, sw), (dh, dw), (oh, ow) = geom.stride, geom.dilation, geom.output_size
    return (slice(None), slice(None), tap_range(i, dh, sh, oh), tap_range(j, dw, sw, ow))


def kernel_taps(geom: ConvGeometry):
    """All (i, j) kernel taps in row-major order, matching a weight's (KH, KW) layout."""
    kh, kw = geom.kernel_size
    return [(i, j) for i in range(kh) for j in range(kw)]
