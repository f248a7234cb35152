"""The two halves of every max pool: find each window's winner; send the gradient back to it.

Shared by :mod:`.max_pool` (regular windows) and :mod:`.adaptive` (adaptive windows): both
hand over their windows as an (N, C, Ho, Wo, kh, kw) array plus two small tables that say
which input row / column each tap reads.
"""
from __future__ import annotations

from ...backends import array_module


def max_over_taps(windows, tap_rows, tap_cols, width: int):
    """Max of each window and the flat index (``row * width + col``) of the input pixel holding it.

    windows:  (N, C, Ho, Wo, kh, kw) values, padding already ``-inf``.
    tap_rows: (Ho, kh) input row read by tap ``a`` of output row ``i``.
    tap_cols: (Wo, kw) input column read by tap ``b`` of output column ``j``.
    Returns values (N, C, Ho, Wo) in the input dtype and int64 indices (N, C, Ho, Wo) into
    the H*W plane of the unpadded input, as torch's ``return_indices``.
    """
    xp = array_module(windows)
    n, c, out_h, out_w, kh, kw = windows.shape
    taps = windows.reshape(n, c, out_h, out_w, kh * kw)  # copies a strided view (like im2col)
    # argmax keeps the FIRST largest tap in row-major order: the same pixel torch keeps on a
    # tie, since its scan (rows outer, columns inner) replaces the max only when strictly larger.
    # (A NaN wins in both, but torch keeps the last NaN and argmax the first.)
    winner = taps.argmax(axis=-1)
    values = xp.take_along_axis(taps, winner[..., None], axis=-1)[..., 0]
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
