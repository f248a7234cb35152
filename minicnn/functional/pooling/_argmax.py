"""The two halves of every max pool: find each window's winner; send the gradient back to it.

Shared by :mod:`.max_pool` (regular windows) and :mod:`.adaptive` (adaptive windows): both
hand over their windows as an (N, C, Ho, Wo, kh, kw) array plus two small tables that say
which input row / column each tap reads.
"""
from __future__ import annotations

from ...backends.arrays import array_module


def max_over_taps(windows, tap_rows, tap_cols, width: int):
    """Max of each window and the flat index (``row * width + col``) of the input pixel holding it.

    windows:  (N, C, Ho, Wo, kh, kw) values, padding already ``-inf``.
    tap_rows: (Ho, kh) input row read by tap ``a`` of output row ``i``.
    tap_cols: (Wo, kw) input column read by tap ``b`` of output column ``j``.
    Returns values (N, C, Ho, Wo) in the input dtype and int64 indices (N, C, Ho, Wo) into
    the H*W plane of the unpadded input, as torch's ``return_indices``.
    """
    xp = array_module(windows)
    kh, kw = windows.shape[-2:]
    out_h, out_w = windows.shape[2:4]
    # A running max over the kh*kw taps, each tap an (N, C, Ho, Wo) strided slice: NumPy works
    # on output-sized arrays instead of iterating over tiny (kh, kw) blocks.
    values = windows[..., 0, 0].copy()
    winner = xp.zeros(values.shape, dtype=xp.int32)  # row-major tap index a*kw + b of the max
    for tap in range(1, kh * kw):
        candidate = windows[..., tap // kw, tap % kw]
        # Strictly larger: on a tie the FIRST tap in row-major order keeps the max, the pixel
        # torch keeps (its scan replaces the max only when strictly larger). A NaN always takes
        # over, so like torch the last NaN of a window wins (and maximum keeps the value NaN).
        takes_over = (candidate > values) | xp.isnan(candidate)
        winner = xp.where(takes_over, xp.int32(tap), winner)
        values = xp.maximum(values, candidate)
    tap_row, tap_col = winner // kw, winner % kw
    # Look up the coordinates: row = tap_rows[i, tap_row[n, c, i, j]], broadcasting the output
    # row index i (shape (Ho, 1)) and the output column index j (shape (Wo,)) against the winners.
    rows = xp.asarray(tap_rows)[xp.arange(out_h)[:, None], tap_row]
    cols = xp.asarray(tap_cols)[xp.arange(out_w), tap_col]
    return values, (rows * width + cols).astype(xp.int64)


def scatter_to_winners(grad_out, indices, input_shape: tuple, keep=None):
    """Backward of a max pool: ``grad_in[n, c].flat[indices[n, c, i, j]] += grad_out[n, c, i, j]``.

    Every other input pixel gets exactly zero: the max depends only on its winner, so the
    gradient of a max pool is sparse — at most one nonzero per window. Where windows overlap
    (stride < kernel, adaptive windows) one pixel can win several windows and its gradients
    add up.

    ``keep``: optional (Ho, Wo) bool mask of the windows that read at least one input pixel;
    a window lying wholly in padding (possible only with dilation) has output -inf, which no
    input influences, so its gradient is dropped.

    Why ``bincount``: plain fancy assignment ``g[idx] += v`` keeps only one of several writes
    to the same pixel; ``add.at`` is correct but unbuffered and slow; one mask per kernel tap
    costs kh*kw passes over the output. ``bincount`` sums all contributions in one pass over
    the output, whatever the kernel size (it accumulates in float64; the result is cast back).
    """
    xp = array_module(grad_out)
    n, c, h, w = input_shape
    plane = h * w
    if keep is not None:
        keep = xp.asarray(keep)
        grad_out = xp.where(keep, grad_out, 0)
        indices = xp.where(keep, indices, 0)  # its index may lie outside the plane: send the 0 to pixel 0
    # One bin per pixel of the whole batch: image-and-channel offset + index within the plane.
    offsets = (xp.arange(n * c, dtype=xp.int64) * plane).reshape(n, c, 1, 1)
    sums = xp.bincount((indices + offsets).ravel(), weights=grad_out.ravel(), minlength=n * c * plane)
    return sums.reshape(input_shape).astype(grad_out.dtype, copy=False)
