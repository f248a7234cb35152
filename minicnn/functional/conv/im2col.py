"""conv2d as im2col + GEMM: copy every receptive field into a column, then one matrix product.

Forward. Each output pixel is the dot product of the weight (flattened over (C/groups, KH, KW))
with the input window under it. Copy all the windows of the batch into one column matrix

    cols[g, (c, i, j), (n, p, q)] = xpad[n, g*Cg + c, p*SH + i*DH, q*SW + j*DW]

of shape (G, Cg*KH*KW, N*OH*OW), and the convolution of group g is ONE GEMM for the whole
batch, Y_g = W_g @ cols[g], with W_g the group's weight reshaped to (C_out/G, Cg*KH*KW).
Putting the batch in the columns (rather than one GEMM per sample) keeps the GEMM large even
when a layer's images are small (LeNet's 10x10 maps), which is where BLAS is efficient; the
price is a transpose of the (small) output from (C_out, N, OH*OW) back to (N, C_out, OH, OW).

Backward. The GEMM's gradients are GEMMs again: dW_g = dY_g @ cols[g]^T and
dcols[g] = W_g^T @ dY_g. dcols then goes back to the input shape by col2im.

Memory. The column matrix is KH*KW times larger than the input (the windows overlap), so the
batch is processed in chunks whose column matrix stays under a configurable byte limit
(:func:`set_workspace_limit`).
"""
from __future__ import annotations

from typing import Callable

from ...backends import array_module
from .geometry import ConvGeometry
from .windows import crop_padding, kernel_taps, pad_input, tap_slice
from .workspace import scratch

DEFAULT_WORKSPACE_LIMIT = 256 * 2**20  # bytes; one column matrix (and its gradient) stays below this

_workspace_limit = DEFAULT_WORKSPACE_LIMIT


def get_workspace_limit() -> int:
    """Bytes one column matrix may take before the batch is split into chunks."""
    return _workspace_limit


def set_workspace_limit(nbytes: int) -> None:
    """Set the column-matrix byte limit (process-wide). A chunk holds at least one sample."""
    global _workspace_limit
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
        raise ValueError(f"conv2d im2col: workspace limit must be a positive int of bytes, got {nbytes!r}")
    _workspace_limit = nbytes


def _batch_chunks(x, geom: ConvGeometry) -> list[tuple[int, int]]:
    """[start, stop) sample ranges whose column matrix fits the workspace limit.

    There is always at least one (possibly empty) chunk, so an empty batch still produces
    correctly shaped results.
    """
    batch, channels = x.shape[:2]
    kh, kw = geom.kernel_size
    oh, ow = geom.output_size
    sample_bytes = channels * kh * kw * oh * ow * x.dtype.itemsize
    per_chunk = max(1, _workspace_limit // max(sample_bytes, 1))
    return [(start, min(start + per_chunk, batch)) for start in range(0, max(batch, 1), per_chunk)]


def _grouped_weight(w, groups: int):
    """(C_out, Cg, KH, KW) -> (G, C_out/G, Cg*KH*KW): W_g, the left GEMM operand of group g.

    Output channels are group-major too, and the (Cg, KH, KW) flattening matches the rows of
    the column matrix, so this is a free reshape.
    """
    out_channels, group_channels, kh, kw = w.shape
    return w.reshape(groups, out_channels // groups, group_channels * kh * kw)


def im2col(x, geom: ConvGeometry, out=None):
    """im2col: (n, C, H, W) -> column matrix (G, Cg*KH*KW, n*OH*OW), written into ``out`` if given."""
    n, channels = x.shape[:2]
    groups = geom.groups
    kh, kw = geom.kernel_size
    oh, ow = geom.output_size
    xp = array_module(x)
    padded = pad_input(x, geom)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    stride_n, stride_c, stride_h, stride_w = padded.strides  # in bytes
    # A view (only ever read) with windows[c, i, j, n, p, q] = padded[n, c, p*SH + i*DH, q*SW + j*DW]:
    # stepping the tap i moves DH rows, stepping the output row p moves SH rows. Neighbouring
    # windows overlap, so the view aliases memory; the copy below materialises it exactly once,
    # already in the (rows = (c, i, j), columns = (n, p, q)) order of the GEMM.
    windows = xp.lib.stride_tricks.as_strided(
        padded,
        shape=(channels, kh, kw, n, oh, ow),
        strides=(stride_c, dh * stride_h, dw * stride_w, stride_n, sh * stride_h, sw * stride_w),
    )
    # Channels are group-major (c = g*Cg + c'), so splitting the (C, KH, KW) rows into
    # (G, Cg*KH*KW) is a free reshape of the contiguous copy.
    shape = (groups, channels // groups * kh * kw, n * oh * ow)
    if out is None:
        return xp.ascontiguousarray(windows).reshape(shape)
    xp.copyto(out.reshape(windows.shape), windows)
    return out.reshape(shape)


def col2im(grad_cols, geom: ConvGeometry, input_shape):
    """Gradient of im2col: (G, Cg*KH*KW, n*OH*OW) -> (n, C, H, W).

    Each input pixel was copied into the column of every window covering it, so its gradient
    is the sum of all those column entries. A single scatter through the strided view would
    not sum entries that land on the same pixel; but for one fixed tap (i, j) the pixels read
    by different output positions are distinct, so adding tap by tap (KH*KW strided slice
    additions over the whole batch) accumulates every contribution exactly once. The sums run
    in the columns' own (C, n, ...) order, so each addition reads a contiguous block; the
    result is returned as an (n, C, H, W) view of that buffer.
    """
    xp = array_module(grad_cols)
    n, channels = input_shape[:2]
    kh, kw = geom.kernel_size
    oh, ow = geom.output_size
    grad_windows = grad_cols.reshape(channels, kh, kw, n, oh, ow)
    grad_padded = xp.zeros((channels, n) + geom.padded_size, dtype=grad_cols.dtype)
    for i, j in kernel_taps(geom):
        grad_padded[tap_slice(geom, i, j)] += grad_windows[:, i, j]
    return crop_padding(grad_padded, geom).transpose(1, 0, 2, 3)


def _columns(x, geom: ConvGeometry):
    """im2col into this thread's reusable column buffer (see :mod:`.workspace`)."""
    n, channels = x.shape[:2]
    kh, kw = geom.kernel_size
    oh, ow = geom.output_size
    return im2col(x, geom, out=scratch("columns", (channels * kh * kw * n * oh * ow,), x.dtype, array_module(x)))


def _batch_major(y_cols, n: int, geom: ConvGeometry):
    """(G, Co/G, n*OH*OW) -> (n, G*Co/G, OH, OW): the GEMM's column order back to NCHW."""
    groups, per_group = y_cols.shape[:2]
    oh, ow = geom.output_size
    return y_cols.reshape(groups * per_group, n, oh, ow).transpose(1, 0, 2, 3)


def _column_major(grad_y):
    """(n, C_out, OH, OW) -> (C_out, n*OH*OW), the inverse of :func:`_batch_major` (one copy)."""
    n, out_channels, oh, ow = grad_y.shape
    xp = array_module(grad_y)
    return xp.ascontiguousarray(grad_y.transpose(1, 0, 2, 3)).reshape(out_channels, n * oh * ow)


class Im2colGemm:
    """conv2d as im2col + GEMM over a pair of column functions (``ConvAlgorithm`` protocol).

    ``columns(x (n, C, H, W), geom)`` builds the column matrix (G, Cg*KH*KW, n*OH*OW) and
    ``col2im(grad_cols, geom, input_shape)`` sends its gradient back to (n, C, H, W). The
    GEMMs, the batch chunking and the layout changes are the same whoever builds the columns:
    this module's NumPy/CuPy array code (the generic algorithm below), or a backend's compiled
    kernels (Numba, CUDA), which register their own instance.
    """

    def __init__(self, columns: Callable, col2im: Callable):
        self.columns = columns
        self.col2im = col2im

    def forward(self, x, w, geom: ConvGeometry):
        """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
        xp = array_module(x)
        batch = x.shape[0]
        out_channels = w.shape[0]
        oh, ow = geom.output_size
        weight = _grouped_weight(w, geom.groups)
        if geom.is_pointwise:
            # 1x1 kernel, stride 1, no padding: every pixel is its own window, so each sample
            # already is its column matrix: one GEMM per sample, (G, Co/G, Cg) @ (N, G, Cg, H*W).
            columns = x.reshape(batch, geom.groups, -1, oh * ow)
            return xp.matmul(weight, columns).reshape(batch, out_channels, oh, ow)
        y = xp.empty((batch, out_channels, oh, ow), dtype=xp.result_type(x, w))
        for start, stop in _batch_chunks(x, geom):
            y_cols = xp.matmul(weight, self.columns(x[start:stop], geom))  # (G, Co/G, n*OH*OW)
            y[start:stop] = _batch_major(y_cols, stop - start, geom)
        return y

    def backward(self, grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
        """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
        xp = array_module(x)
        batch, channels = x.shape[:2]
        groups = geom.groups
        oh, ow = geom.output_size
        weight = _grouped_weight(w, groups)
        if geom.is_pointwise:
            dy = grad_y.reshape(batch, groups, -1, oh * ow)
            columns = x.reshape(batch, groups, -1, oh * ow)
            grad_x = xp.matmul(weight.swapaxes(-1, -2), dy).reshape(x.shape) if need_input else None
            grad_w = xp.matmul(dy, columns.swapaxes(-1, -2)).sum(axis=0).reshape(w.shape) if need_weight else None
            return grad_x, grad_w
        grad_weight = xp.zeros(weight.shape, dtype=w.dtype) if need_weight else None
        grad_x = xp.empty(x.shape, dtype=x.dtype) if need_input else None
        for start, stop in _batch_chunks(x, geom):
            dy = _column_major(grad_y[start:stop]).reshape(groups, weight.shape[1], (stop - start) * oh * ow)
            if need_weight:
                # dW_g = dY_g @ cols[g]^T: (Co/G, n*L) @ (n*L, K), the whole chunk in one GEMM.
                grad_weight += xp.matmul(dy, self.columns(x[start:stop], geom).swapaxes(-1, -2))
            if need_input:
                # dcols[g] = W_g^T @ dY_g: (K, Co/G) @ (Co/G, n*L).
                grad_cols = scratch("grad_columns", (groups, weight.shape[2], dy.shape[2]), dy.dtype, xp)
                xp.matmul(weight.swapaxes(-1, -2), dy, out=grad_cols)
                grad_x[start:stop] = self.col2im(grad_cols, geom, x[start:stop].shape)
        grad_w = grad_weight.reshape(w.shape) if need_weight else None
        return grad_x, grad_w


# The generic algorithm, registered as "im2col": columns built by NumPy/CuPy array code into
# the reusable scratch buffer.
_generic = Im2colGemm(_columns, col2im)
forward = _generic.forward
backward = _generic.backward
