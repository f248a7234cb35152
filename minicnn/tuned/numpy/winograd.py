"""Winograd F(2x2, 3x3) tuned for NumPy: the transforms as whole-array additions, split over the cores.

The algorithm, its matrices and its backward are :mod:`minicnn.functional.conv.winograd` (the
reference, which writes each transform as the matrix product it is); this module computes the
same numbers faster and is tested against it. Three devices:

- B^T and A^T hold only 0 and ±1, so applying them is additions: :func:`_combine_rows` skips the
  zero entries (an einsum runs them as GEMMs with an inner dimension of 4 and spends its time
  transposing).
- The input transform runs separably on the padded image, not tile by tile (neighbouring tiles
  overlap), with the rows split by parity so that each pass reads contiguous blocks.
- The output tiles are written straight into the image through a strided view of it.

Where the time goes, measured (NumPy, 2 cores, benchmarks/results/2026-12-02-conv-algorithms-2core.md): the
16 GEMMs run at the machine's GEMM speed and take about a quarter of the forward; the rest is
the transforms, a few additions per value on arrays 4x the size of the output (16 values per
2x2 tile), which the memory bus, not the arithmetic, limits. So the 2.25x fewer FLOPs do not
pay for the data moved: the forward takes longer than im2col's even on resnet_3x3 and vgg_3x3
(and the einsum transforms of the reference several times longer still). On a GPU, or fused
into one kernel that keeps a tile's transform in registers, the balance differs.
"""
from __future__ import annotations

import numpy as np

from ...backends.arrays import array_module
from ...functional.conv.winograd import (
    A_T, B_T, G, KERNEL, OUT_TILE, TILE, check_supported, rotated_transposed, supports, tile_counts,
)
from ...geometry import ConvGeometry, crop_padding
from .parallel import split_over_cores

__all__ = ["forward", "backward", "supports"]  # supports: the reference's, the same geometries


def _combine_rows(matrix: np.ndarray, rows, out=None):
    """out[i] = sum over a of matrix[i, a] * rows[a]: the small matrix applied along the first
    axis of ``rows`` (an array, or a list of equally shaped arrays).

    Written as whole-array additions that skip the zero entries, so a transform whose matrix holds
    only 0 and ±1 (B^T, A^T) costs additions alone: one pass per output row with two terms. (A
    general contraction, einsum or tensordot, treats the 4x4 as a GEMM with an inner dimension
    of 4 and spends its time transposing: on vgg_3x3 the input transform then took several
    times as long as the 16 GEMMs it feeds.) ``out``, if given, may be any strided view.
    """
    xp = array_module(rows[0])
    if out is None:
        out = xp.empty((len(matrix), *rows[0].shape), dtype=rows[0].dtype)
    for row, coefficients in zip(out, matrix):
        # the non-zero terms (coefficient, index), a +1 first where there is one
        terms = sorted(((c, a) for a, c in enumerate(coefficients) if c != 0), key=lambda term: term[0] != 1)
        (c, a), rest = terms[0], terms[1:]
        if c == 1 and rest and rest[0][0] in (1, -1):  # row = rows[a] ± rows[b], in one pass
            (sign, b), rest = rest[0], rest[1:]
            (xp.add if sign == 1 else xp.subtract)(rows[a], rows[b], out=row)
        else:
            xp.multiply(rows[a], c, out=row)
        for c, a in rest:  # row += c * rows[a]
            if c in (1, -1):
                (xp.add if c == 1 else xp.subtract)(row, rows[a], out=row)
            else:
                row += c * rows[a]
    return out


def _sandwich(left: np.ndarray, tiles, out=None):
    """left @ tile @ left^T for every tile; the two tile axes come first: (a, b, ...) -> (i, j, ...).

    Rows first, (a, b) -> (i, b); then columns, (i, b) -> (i, j), as rows of the swapped axes
    written through a swapped view of the result: ``out`` (any strided view) or a new array.
    The third axis (channels) is split over the cores (see :mod:`..parallel`).
    """
    xp = array_module(tiles)
    left = np.asarray(left, dtype=tiles.dtype)
    if out is None:
        out = xp.empty((len(left), len(left), *tiles.shape[2:]), dtype=tiles.dtype)

    def transform(part: slice):  # the channels `part`, on one core
        by_rows = _combine_rows(left, tiles[:, :, part])
        _combine_rows(left, by_rows.swapaxes(0, 1), out=out[:, :, part].swapaxes(0, 1))

    split_over_cores(transform, tiles.shape[2], out)
    return out


def _transformed_input(x, groups: int, padding: tuple[int, int, int, int], output_size: tuple[int, int]):
    """V = B^T d B for every 4x4 tile d of x zero-padded by (top, bottom, left, right): (4, 4, G, C/G, N*TH*TW).

    Tile (s, t) starts at padded row 2s, column 2t: neighbours overlap by 2 rows and columns, so
    transforming tile by tile would redo the overlap. The transform is separable and runs on the
    padded image instead: columns first — entry b of tile column t is padded column 2t + b — then
    rows, entry a of tile row s being row 2s + a = 2(s + a//2) + a%2. The column pass writes its
    rows split by parity, so that each row term of the second pass reads rows of one parity
    a//2 further down: one contiguous TH x TW block per (channel, sample), where rows of the
    tiles themselves would be runs of TW values 2 rows apart (on vgg_3x3 about 6x faster than
    an einsum over the tiles; benchmarks/results/2026-12-02-conv-algorithms-2core.md).
    """
    xp = array_module(x)
    batch, channels, height, width = x.shape
    th, tw = tile_counts(output_size)
    top, _, left, _ = padding
    # The tiles span 2*T + 2 rows; for an odd output size that is one row (column) more than the
    # padding gives, so the bottom (right) padding grows by the zeros the cropped output reads.
    bottom = OUT_TILE * th + KERNEL - 1 - height - top
    right = OUT_TILE * tw + KERNEL - 1 - width - left
    padded = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    b_t = np.asarray(B_T, dtype=x.dtype)
    transformed = xp.empty((TILE, TILE, channels, batch, th, tw), dtype=x.dtype)  # [i, j, c, n, s, t]

    def transform(c: slice):  # the channels c, on one core
        image = padded[:, c]
        part = image.shape[1]
        sn, sc, sh, sw = image.strides  # in bytes
        # columns[b, n, c, u, p, t] = padded[n, c, 2u + p, 2t + b]: the rows split by parity p
        columns = xp.lib.stride_tricks.as_strided(
            image, (TILE, batch, part, th + 1, 2, tw), (sw, sn, sc, 2 * sh, sh, 2 * sw))
        by_columns = xp.empty((TILE, 2, part, batch, th + 1, tw), dtype=x.dtype)  # [j, p, c, n, u, t]
        _combine_rows(b_t, columns, out=by_columns.transpose(0, 3, 2, 4, 1, 5))
        tile_rows = [by_columns[:, a % 2, :, :, a // 2 : a // 2 + th] for a in range(TILE)]  # [a][j, c, n, s, t]
        _combine_rows(b_t, tile_rows, out=transformed[:, :, c])

    split_over_cores(transform, channels, transformed)
    return transformed.reshape(TILE, TILE, groups, channels // groups, -1)


def _transformed_weight(w, groups: int):
    """U = G g G^T for every kernel: (C_out, C/G, 3, 3) -> (4, 4, G, C_out/G, C/G)."""
    out_channels, group_channels = w.shape[:2]
    per_group = w.reshape(groups, out_channels // groups, group_channels, KERNEL, KERNEL)
    return _sandwich(G, per_group.transpose(3, 4, 0, 1, 2))


def _output_tiles(a, tile_counts: tuple[int, int]):
    """(N, C, OH, OW) -> (2, 2, C, N*TH*TW): 2x2 tiles, zero-filled past an odd edge (the layout
    :func:`_output_image` writes the forward's tiles in)."""
    xp = array_module(a)
    batch, channels, height, width = a.shape
    th, tw = tile_counts
    padded = xp.pad(a, ((0, 0), (0, 0), (0, OUT_TILE * th - height), (0, OUT_TILE * tw - width)))
    # padded[n, c, 2s + r, 2t + q] -> tiles[r, q, c, n, s, t]
    tiles = padded.reshape(batch, channels, th, OUT_TILE, tw, OUT_TILE).transpose(3, 5, 1, 0, 2, 4)
    return tiles.reshape(OUT_TILE, OUT_TILE, channels, -1)


def _output_image(m, batch: int, output_size: tuple[int, int]):
    """Y = A^T M A for every tile, (4, 4, C, N*TH*TW) -> (N, C, OH, OW).

    The 2x2 tiles are written straight into the image through a strided view of it
    (tile entry (r, q) of tile (s, t) is pixel (2s + r, 2t + q)), then cropped to OH x OW.
    """
    xp = array_module(m)
    th, tw = tile_counts(output_size)
    channels = m.shape[2]
    image = xp.empty((batch, channels, OUT_TILE * th, OUT_TILE * tw), dtype=m.dtype)
    # image[n, c, 2s + r, 2t + q] seen as tiles[r, q, c, n, s, t]
    tiles = image.reshape(batch, channels, th, OUT_TILE, tw, OUT_TILE).transpose(3, 5, 1, 0, 2, 4)
    _sandwich(A_T, m.reshape(TILE, TILE, channels, batch, th, tw), out=tiles)
    if image.shape[2:] == tuple(output_size):
        return image
    return xp.ascontiguousarray(image[:, :, : output_size[0], : output_size[1]])


def _correlate(x, w, groups: int, padding: tuple[int, int, int, int]):
    """Valid 3x3 correlation of x zero-padded by (top, bottom, left, right), by F(2x2, 3x3).

    x (N, C, H, W), w (C_out, C/G, 3, 3) -> (N, C_out, H + top + bottom - 2, W + left + right - 2).
    """
    xp = array_module(x)
    top, bottom, left, right = padding
    output_size = (x.shape[2] + top + bottom - KERNEL + 1, x.shape[3] + left + right - KERNEL + 1)
    v = _transformed_input(x, groups, padding, output_size)  # (4, 4, G, Cg, N*tiles)
    u = _transformed_weight(w, groups)  # (4, 4, G, Co, Cg)
    m = xp.matmul(u, v)  # 16 GEMMs per group: the sum over input channels, (4, 4, G, Co, N*tiles)
    return _output_image(m.reshape(TILE, TILE, w.shape[0], -1), x.shape[0], output_size)  # A^T M A


def forward(x, w, geom: ConvGeometry):
    """x (N, C, H, W), w (C_out, C/G, 3, 3) -> y (N, C_out, OH, OW), without bias."""
    check_supported(geom)
    return _correlate(x, w, geom.groups, geom.padding)


def _weight_gradient(grad_y, x, w_shape, geom: ConvGeometry):
    """The adjoint of the forward in the kernel: grad_y (N, C_out, OH, OW) -> grad_w (C_out, C/G, 3, 3)."""
    xp = array_module(x)
    groups = geom.groups
    v = _transformed_input(x, groups, geom.padding, geom.output_size)  # (4, 4, G, Cg, N*tiles)
    grad_y_tiles = _output_tiles(grad_y, tile_counts(geom.output_size))  # (2, 2, C_out, N*tiles)
    grad_m = _sandwich(A_T.T, grad_y_tiles)  # A dY A^T: (4, 4, C_out, N*tiles)
    grad_m = grad_m.reshape(TILE, TILE, groups, w_shape[0] // groups, -1)
    # dU[ξ, ν] = dM[ξ, ν] @ V[ξ, ν]^T: the same 16 GEMMs, summing over every tile of every sample.
    grad_u = xp.matmul(grad_m, v.swapaxes(-1, -2))  # (4, 4, G, Co, Cg)
    grad_g = _sandwich(G.T, grad_u)  # G^T dU G: (3, 3, G, Co, Cg)
    return xp.ascontiguousarray(grad_g.transpose(2, 3, 4, 0, 1)).reshape(w_shape)


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
    """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
    check_supported(geom)
    grad_x = grad_w = None
    if need_input:
        # Full convolution of grad_y with the kernel = valid correlation of grad_y padded by 2 with
        # the rotated, channel-transposed kernel; it yields the gradient of the padded input.
        full = KERNEL - 1  # zeros on each side that turn a valid correlation into a full one
        grad_padded = _correlate(grad_y, rotated_transposed(w, geom.groups), geom.groups, (full,) * 4)
        grad_x = crop_padding(grad_padded, geom)
    if need_weight:
        grad_w = _weight_gradient(grad_y, x, w.shape, geom)
    return grad_x, grad_w
