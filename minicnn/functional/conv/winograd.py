"""conv2d by Winograd's minimal filtering F(2x2, 3x3): 16 multiplications per 2x2 output tile, not 36.

The reference version, the transforms written as the matrix products they are (the tuned one
that runs by default on NumPy, :mod:`minicnn.tuned.numpy.winograd`, is tested against it).

Only 3x3 kernels at stride 1 and dilation 1 (any padding, any groups); :func:`supports` says so
and every other geometry raises a ValueError.

F(2, 3), one dimension. Two outputs of a 3-tap correlation of four inputs d0 … d3,

    y0 = d0*g0 + d1*g1 + d2*g2,        y1 = d1*g0 + d2*g1 + d3*g2,

take 6 multiplications by the definition, but only 4 as  y = A^T [(G g) ⊙ (B^T d)],  with the
matrices :data:`B_T`, :data:`G` and :data:`A_T` below. (G g) depends on the kernel alone and is
computed once; B^T and A^T hold only 0 and ±1, so the transforms are additions.

Where the matrices come from (Toom-Cook, i.e. Lagrange interpolation). Convolving a 2-tap h with
the 3-tap g gives the coefficients of the degree-3 polynomial s(t) = h(t) g(t). Four values fix
it: s at t = 0, 1, -1 and at "infinity" (its leading coefficient h1*g2), each one product such as
s(1) = (h0 + h1)(g0 + g1 + g2). Evaluating g at those points is the matrix
E_g = [[1, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 1]], evaluating h is E_h = [[1, 0], [1, 1], [1, -1],
[0, 1]], and Lagrange interpolation turns the four products m back into coefficients, s = C m, with

    C = [[1, 0, 0, 0], [0, 1/2, -1/2, -1], [-1, 1/2, 1/2, 0], [0, 0, 0, 1]]

(its columns are the basis polynomials 1 - t^2, t(t+1)/2, t(t-1)/2 and, for infinity, t^3 - t).
A correlation is the transpose of a convolution (y = T(g)^T d where T(g) = C diag(E_g g) E_h is
"convolve with g"), so y = E_h^T [(E_g g) ⊙ (C^T d)]: A^T = E_h^T, G = E_g and B^T = C^T. The
matrices below are exactly these after two cosmetic moves (Lavin and Gray's convention): the
Lagrange denominators 1/2 go from B^T into G, so the per-tile input transform has no
multiplications at all, and the sign of the infinity term is flipped in B^T and A^T.

F(2x2, 3x3), two dimensions: nest the 1-D algorithm along rows and columns. A 4x4 input tile d
and the 3x3 kernel g give the 2x2 output tile

    Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A.

Output tiles are 2x2 and need the 4x4 input tile starting at the same position, so neighbouring
input tiles start 2 apart and overlap by 2 rows/columns. An odd output size rounds the tile
count up; the extra output row/column is computed from zero padding and cropped.

Channels, where it wins. With U = G g G^T (per output/input channel pair) and V = B^T d B (per
input channel and tile), the sum over input channels at each of the 16 tile positions (ξ, ν) is
a matrix product:

    M[ξ, ν] = U[ξ, ν] @ V[ξ, ν],   (C_out/G, C/G) @ (C/G, N * tiles)   per group.

These 16 batched GEMMs do 16 multiplications per 2x2 outputs where direct/im2col do 36: 2.25x
fewer FLOPs in the part that dominates when channels are many. The transforms cost O(C * tiles)
additions, so with few channels (or a small output) the overhead eats the gain. Accuracy: the
1/2 factors and the sums in the transforms add rounding; in float32, against a float64
reference, the error measured ~1.5x the direct algorithm's (median; 2.6x at worst over 300
random 16-channel layers; tests/test_conv_algorithms.py bounds it at 4x).

Backward, in the same machinery:

- grad input: the input gradient of a stride-1 3x3 correlation is the full convolution of grad_y
  with the kernel, i.e. the valid 3x3 correlation of grad_y zero-padded by 2 with the kernel
  rotated 180° and its in/out channels swapped (per group): another F(2x2, 3x3) problem.
- grad weight: the output is linear in U, so its gradient is the transposed (adjoint) algorithm,
  dM = A dY A^T per tile, dU[ξ, ν] = dM[ξ, ν] @ V[ξ, ν]^T (the same 16 GEMMs, now summing over
  tiles and samples), and dg = G^T dU G.
"""
from __future__ import annotations

import numpy as np

from ...backends.arrays import array_module
from ...geometry import ConvGeometry, crop_padding

# Input transform B^T (4x4): rows are the Lagrange combinations of the 4 tile entries.
B_T = np.array([
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
], dtype=np.float64)

# Kernel transform G (4x3): g evaluated at t = 0, 1, -1 and infinity, with the 1/2 denominators.
G = np.array([
    [1, 0, 0],
    [1 / 2, 1 / 2, 1 / 2],
    [1 / 2, -1 / 2, 1 / 2],
    [0, 0, 1],
], dtype=np.float64)

# Output transform A^T (2x4): 2 outputs from the 4 products.
A_T = np.array([
    [1, 1, 1, 0],
    [0, 1, -1, -1],
], dtype=np.float64)

OUT_TILE = 2  # output tile side: the "2x2" of F(2x2, 3x3)
KERNEL = 3  # kernel side: the "3x3"
TILE = OUT_TILE + KERNEL - 1  # input tile side, 4: what one output tile's windows read


def supports(geom: ConvGeometry) -> bool:
    """F(2x2, 3x3) computes 3x3 kernels at stride 1 and dilation 1 (any padding and groups)."""
    return geom.kernel_size == (3, 3) and geom.stride == (1, 1) and geom.dilation == (1, 1)


def check_supported(geom: ConvGeometry) -> None:
    """Raise a ValueError naming the geometry and the algorithms that compute it instead."""
    if not supports(geom):
        raise ValueError(
            "conv2d: algorithm 'winograd' (F(2x2, 3x3)) supports only 3x3 kernels with stride 1 and "
            f"dilation 1, got kernel {geom.kernel_size}, stride {geom.stride}, dilation {geom.dilation}; "
            "use 'im2col', 'direct' or 'fft' for this geometry"
        )


def sandwich(left, tiles):
    """left @ tile @ left^T over the last two axes: (..., a, a) -> (..., i, i) for left (i, a)."""
    xp = array_module(tiles)
    left = xp.asarray(left, dtype=tiles.dtype)
    return xp.einsum("ia,...ab,jb->...ij", left, tiles, left)


def tile_counts(output_size: tuple[int, int]) -> tuple[int, int]:
    """2x2 output tiles per column and per row; a partial last tile counts as one."""
    return tuple(-(-size // OUT_TILE) for size in output_size)


def input_tiles(x, padding: tuple[int, int, int, int], output_size: tuple[int, int]):
    """(N, C, H, W) -> d (N, C, TH, TW, 4, 4): tile (s, t) is rows 2s..2s+3, columns 2t..2t+3 of x padded.

    Neighbouring tiles overlap by 2 rows (columns); an odd output size needs one more row
    (column) of zeros than the padding gives, read only by the output that is cropped.
    """
    xp = array_module(x)
    height, width = x.shape[2:]
    th, tw = tile_counts(output_size)
    top, _, left, _ = padding
    bottom = OUT_TILE * th + KERNEL - 1 - height - top
    right = OUT_TILE * tw + KERNEL - 1 - width - left
    padded = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    sn, sc, sh, sw = padded.strides  # d[n, c, s, t, a, b] = padded[n, c, 2s + a, 2t + b]
    return xp.lib.stride_tricks.as_strided(
        padded, (*x.shape[:2], th, tw, TILE, TILE), (sn, sc, OUT_TILE * sh, OUT_TILE * sw, sh, sw))


def _grouped(a, groups: int):
    """(N, C, ...) -> (N, G, C/G, ...)."""
    return a.reshape(a.shape[0], groups, a.shape[1] // groups, *a.shape[2:])


def correlate(x, w, groups: int, padding: tuple[int, int, int, int]):
    """Valid 3x3 correlation of x zero-padded by (top, bottom, left, right), by F(2x2, 3x3).

    x (N, C, H, W), w (C_out, C/G, 3, 3) -> (N, C_out, H + top + bottom - 2, W + left + right - 2).
    """
    xp = array_module(x)
    output_size = (x.shape[2] + padding[0] + padding[1] - KERNEL + 1, x.shape[3] + padding[2] + padding[3] - KERNEL + 1)
    v = _grouped(sandwich(B_T, input_tiles(x, padding, output_size)), groups)  # B^T d B: (N, G, Cg, TH, TW, 4, 4)
    u = sandwich(G, w).reshape(groups, -1, *w.shape[1:2], TILE, TILE)  # G g G^T: (G, Co, Cg, 4, 4)
    # the sum over input channels, at each of the 16 tile positions: M = U (.) V summed over c
    m = xp.einsum("gocij,ngcstij->ngostij", u, v).reshape(x.shape[0], w.shape[0], *v.shape[3:])
    y_tiles = sandwich(A_T, m)  # A^T M A: (N, C_out, TH, TW, 2, 2)
    batch, out_channels, th, tw = y_tiles.shape[:4]
    y = y_tiles.transpose(0, 1, 2, 4, 3, 5).reshape(batch, out_channels, OUT_TILE * th, OUT_TILE * tw)
    return xp.ascontiguousarray(y[:, :, : output_size[0], : output_size[1]])


def rotated_transposed(w, groups: int):
    """(C_out, C/G, 3, 3) -> (C, C_out/G, 3, 3): per group, in/out channels swapped and each kernel rotated 180°."""
    out_channels, group_channels = w.shape[:2]
    per_group = w.reshape(groups, out_channels // groups, group_channels, KERNEL, KERNEL)
    rotated = per_group.swapaxes(1, 2)[..., ::-1, ::-1]
    return rotated.reshape(groups * group_channels, out_channels // groups, KERNEL, KERNEL)


def forward(x, w, geom: ConvGeometry):
    """x (N, C, H, W), w (C_out, C/G, 3, 3) -> y (N, C_out, OH, OW), without bias."""
    check_supported(geom)
    return correlate(x, w, geom.groups, geom.padding)


def _weight_gradient(grad_y, x, w_shape, geom: ConvGeometry):
    """The adjoint of the forward in the kernel: grad_y (N, C_out, OH, OW) -> grad_w (C_out, C/G, 3, 3)."""
    xp = array_module(x)
    groups = geom.groups
    v = _grouped(sandwich(B_T, input_tiles(x, geom.padding, geom.output_size)), groups)  # (N, G, Cg, TH, TW, 4, 4)
    th, tw = tile_counts(geom.output_size)
    oh, ow = geom.output_size
    padded = xp.pad(grad_y, ((0, 0), (0, 0), (0, OUT_TILE * th - oh), (0, OUT_TILE * tw - ow)))
    batch, out_channels = grad_y.shape[:2]
    dy_tiles = padded.reshape(batch, out_channels, th, OUT_TILE, tw, OUT_TILE).transpose(0, 1, 2, 4, 3, 5)
    grad_m = _grouped(sandwich(A_T.T, dy_tiles), groups)  # A dY A^T: (N, G, Co, TH, TW, 4, 4)
    grad_u = xp.einsum("ngostij,ngcstij->gocij", grad_m, v)  # summed over every tile of every sample
    return sandwich(G.T, grad_u).reshape(w_shape)  # G^T dU G


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
    """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
    check_supported(geom)
    grad_x = grad_w = None
    if need_input:
        # Full convolution of grad_y with the kernel = valid correlation of grad_y padded by 2 with
        # the rotated, channel-transposed kernel; it yields the gradient of the padded input.
        full = KERNEL - 1
        grad_x = crop_padding(correlate(grad_y, rotated_transposed(w, geom.groups), geom.groups, (full,) * 4), geom)
    if need_weight:
        grad_w = _weight_gradient(grad_y, x, w.shape, geom)
    return grad_x, grad_w
