"""Padding and kernel-tap slices: the index arithmetic every conv2d algorithm shares.

Output pixel (p, q) of a convolution reads, through kernel tap (i, j), the padded input at

    row = p*SH + i*DH,    column = q*SW + j*DW.

For a fixed tap those positions form a strided slice of the padded input with one element
per output pixel; :func:`tap_slice` builds it. The algorithms differ in what they do with
the slices (copy them all into one column matrix, or multiply them one at a time).
"""
from __future__ import annotations

from ...backends import array_module
from ..sliding import tap_range
from .geometry import ConvGeometry


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
