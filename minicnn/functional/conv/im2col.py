"""conv2d as im2col + GEMM: copy every receptive field into a column, then one matrix product.

Forward. Each output pixel of sample n is the dot product of the weight (flattened over
(C/groups, KH, KW)) with the input window under it. Copy all the windows into a column matrix

    cols[n, g, (c, i, j), (p, q)] = xpad[n, g*Cg + c, p*SH + i*DH, q*SW + j*DW]

of shape (N, G, Cg*KH*KW, OH*OW), and the convolution of group g becomes one GEMM,
y[n, g] = W_g @ cols[n, g], with W_g the weight of the group reshaped to (C_out/G, Cg*KH*KW).
The result is already in (N, C_out, OH*OW) order, so the output needs no transpose.

Backward. The GEMM's gradients are GEMMs again: dW_g = sum_n dY[n, g] @ cols[n, g]^T and
dcols[n, g] = W_g^T @ dY[n, g]. dcols then goes back to the input shape by col2im.

Memory. The column matrix is KH*KW times larger than the input (the windows overlap), so the
batch is processed in chunks whose column matrix stays under a configurable byte limit
(:func:`set_workspace_limit`).
"""
from __future__ import annotations

from ...backends import array_module
from .geometry import ConvGeometry
from .windows import crop_padding, kernel_taps, pad_input, tap_slice

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


def _columns(x, geom: ConvGeometry):
    """im2col: (n, C, H, W) -> column matrix (n, G, Cg*KH*KW, OH*OW)."""
    n, channels = x.shape[:2]
    groups = geom.groups
    kh, kw = geom.kernel_size
    oh, ow = geom.output_size
    rows_per_group = channels // groups * kh * kw
    if geom.is_pointwise:
        # 1x1 kernel, stride 1, no padding: every pixel is its own window, so the input already
        # is the column matrix and the convolution is a plain GEMM — no copy for contiguous input.
        return x.reshape(n, groups, rows_per_group, oh * ow)
    xp = array_module(x)
    padded = pad_input(x, geom)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    stride_n, stride_c, stride_h, stride_w = padded.strides  # in bytes
    # A view (only ever read) with windows[n, c, i, j, p, q] = padded[n, c, p*SH + i*DH, q*SW + j*DW]:
    # stepping the tap i moves DH rows, stepping the output row p moves SH rows. Neighbouring
    # windows overlap, so the view aliases memory; the copy below materialises it exactly once.
    windows = xp.lib.stride_tricks.as_strided(
        padded,
        shape=(n, channels, kh, kw, oh, ow),
        strides=(stride_n, stride_c, dh * stride_h, dw * stride_w, sh * stride_h, sw * stride_w),
    )
    # Channels are group-major (c = g*Cg + c'), so splitting the (C, KH, KW) rows into
    # (G, Cg*KH*KW) is a free reshape of the contiguous copy.
    return xp.ascontiguousarray(windows).reshape(n, groups, rows_per_group, oh * ow)


def _col2im(grad_cols, geom: ConvGeometry, input_shape):
    """Gradient of im2col: (n, G, Cg*KH*KW, OH*OW) -> (n, C, H, W).

    Each input pixel was copied into the column of every window covering it, so its gradient
    is the sum of all those column entries. A single scatter through the strided view would
    not sum entries that land on the same pixel; but for one fixed tap (i, j) the pixels read
    by different output positions are distinct, so adding tap by tap (KH*KW strided slice
    additions over the whole batch) accumulates every contribution exactly once.
    """
    n, channels, height, width = input_shape
    if geom.is_pointwise:
        return grad_cols.reshape(input_shape)
    xp = array_module(grad_cols)
    kh, kw = geom.kernel_size
    oh, ow = geom.output_size
    grad_windows = grad_cols.reshape(n, channels, kh, kw, oh, ow)
    grad_padded = xp.zeros((n, channels) + geom.padded_size, dtype=grad_cols.dtype)
    for i, j in kernel_taps(geom):
        grad_padded[tap_slice(geom, i, j)] += grad_windows[:, :, i, j]
    return crop_padding(grad_padded, geom)


def forward(x, w, geom: ConvGeometry):
    """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
    xp = array_module(x)
    batch = x.shape[0]
    out_channels = w.shape[0]
    groups = geom.groups
    oh, ow = geom.output_size
    weight = _grouped_weight(w, groups)
    y = xp.empty((batch, groups, out_channels // groups, oh * ow), dtype=xp.result_type(x, w))
    for start, stop in _batch_chunks(x, geom):
        # weight (G, Co/G, K) broadcasts against cols (n, G, K, L): one GEMM per sample and group,
        # written straight into this chunk's slice of the output.
        xp.matmul(weight, _columns(x[start:stop], geom), out=y[start:stop])
    return y.reshape(batch, out_channels, oh, ow)


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
    """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
    xp = array_module(x)
    batch = x.shape[0]
    out_channels = w.shape[0]
    groups = geom.groups
    oh, ow = geom.output_size
    weight = _grouped_weight(w, groups)
    grad_y = grad_y.reshape(batch, groups, out_channels // groups, oh * ow)
    grad_weight = xp.zeros(weight.shape, dtype=w.dtype) if need_weight else None
    grad_x_chunks = []
    for start, stop in _batch_chunks(x, geom):
        grad_y_chunk = grad_y[start:stop]
        if need_weight:
            cols = _columns(x[start:stop], geom)
            # dW_g = sum_n dY[n, g] @ cols[n, g]^T: (Co/G, L) @ (L, K) per sample, summed over samples.
            grad_weight += xp.matmul(grad_y_chunk, cols.swapaxes(-1, -2)).sum(axis=0)
        if need_input:
            # dcols[n, g] = W_g^T @ dY[n, g]: (K, Co/G) @ (Co/G, L).
            grad_cols = xp.matmul(weight.swapaxes(-1, -2), grad_y_chunk)
            grad_x_chunks.append(_col2im(grad_cols, geom, x[start:stop].shape))
    grad_x = None
    if need_input:
        grad_x = grad_x_chunks[0] if len(grad_x_chunks) == 1 else xp.concatenate(grad_x_chunks)
    grad_w = grad_weight.reshape(w.shape) if need_weight else None
    return grad_x, grad_w
