"""conv2d as im2col + GEMM, tuned for NumPy: column orders, batch chunks, reused buffers, core splitting.

The algorithm is :mod:`minicnn.functional.conv.im2col` (the reference, tested against this
module on the full argument sweep); here is what makes it fast, and why.

Forward. Each output pixel is the dot product of the weight (flattened over (C/groups, KH, KW))
with the input window under it. Copy all the windows of the batch into one column matrix

    cols[g, (c, i, j), (p, q, n)] = xpad[n, g*Cg + c, p*SH + i*DH, q*SW + j*DW]

of shape (G, Cg*KH*KW, OH*OW*N), and the convolution of group g is ONE GEMM for the whole
batch, Y_g = W_g @ cols[g], with W_g the group's weight reshaped to (C_out/G, Cg*KH*KW).
Putting the batch in the columns (rather than one GEMM per sample) keeps the GEMM large even
when a layer's images are small (LeNet's 10x10 maps), which is where BLAS is efficient; the
price is a transpose of the (small) output from the columns' order back to (N, C_out, OH, OW).

Column order. The GEMM does not care in which order the (p, q, n) columns come, but the copies
around it do. NumPy copies a strided view one contiguous run at a time, and its cost on small
images is the number of runs, not the bytes. Two orders are used, each with the padded input
laid out in it, channel first:

* batch innermost, columns (p, q, n), input (C, Hp, Wp, N): one window row (the OW pixels of
  row p*SH + i*DH that tap (i, j) reads, for every sample) is a single contiguous run of OW*N
  values at stride 1 (N at larger strides). On LeNet's second layer (10x10 outputs, batch 64)
  that is 64x fewer runs than sample-major, which is what a strided copy costs. The price is
  three transposes between NCHW and the batch-innermost order (x in, y out, grad y in), whose
  runs are N values long.
* sample-major, columns (n, p, q), input (C, N, Hp, Wp): window rows are runs of OW values,
  and every transpose moves whole rows or images, which wins on large images with a small
  batch (vgg_3x3, resnet_3x3: benchmarks/results/2026-12-02-conv-im2col-column-order-vs-before.txt). On NumPy there are no
  output transposes at all in this order: each sample's columns are a strided block BLAS
  reads in place, so one GEMM per sample writes y[n] where it belongs and the weight gradient
  reads grad y as it lies (:func:`_multiplies_per_sample`).

:func:`column_order` picks sample-major when a window row of one sample is longer than the
batch (and contiguous: stride 1), batch innermost otherwise. The code handles both as one
shape, (C, A, Hp, Wp, B): the batch is A and B is 1 (sample-major), or the other way round.
The Numba kernels use the batch innermost order (their inner loops vectorise over the same
long runs); the CUDA kernels use sample-major, in which each sample's output plane is
contiguous. :class:`Im2colGemm` takes either.

Backward. The GEMM's gradients are GEMMs again: dW_g = dY_g @ cols[g]^T and
dcols[g] = W_g^T @ dY_g. dcols then goes back to the input shape by col2im.

Memory. The column matrix is KH*KW times larger than the input (the windows overlap), so the
batch is processed in chunks whose column matrix stays under a configurable byte limit
(:func:`set_workspace_limit`).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable

from ...backends.arrays import array_module
from ...geometry import ConvGeometry, kernel_taps, tap_slice
from .parallel import split_over_cores
from .workspace import lend, scratch

DEFAULT_WORKSPACE_LIMIT = 256 * 2**20  # bytes; one column matrix (and its gradient) stays below this

_workspace_limit = DEFAULT_WORKSPACE_LIMIT

# Column matrices up to this size are kept from the forward for the weight gradient, so that
# the backward does not build them again; they live until the backward has run. Above 32 MiB
# (see minicnn.allocator) glibc maps a kept matrix afresh on each step, and its first writes
# page-fault; that costs a fraction of rebuilding the matrix (measured on vgg_3x3), so keeping
# still wins, up to the size one chunk may have anyway.
KEEP_LIMIT = DEFAULT_WORKSPACE_LIMIT  # bytes


def get_workspace_limit() -> int:
    """Bytes one column matrix may take before the batch is split into chunks."""
    return _workspace_limit


def set_workspace_limit(nbytes: int) -> None:
    """Set the column-matrix byte limit (process-wide). A chunk holds at least one sample."""
    global _workspace_limit
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
        raise ValueError(f"conv2d im2col: workspace limit must be a positive int of bytes, got {nbytes!r}")
    _workspace_limit = nbytes


def _column_bytes(x, geom: ConvGeometry) -> int:
    """Size of the column matrix of x (n, C, H, W): C*KH*KW rows of n*OH*OW values."""
    n, channels = x.shape[:2]
    return channels * math.prod(geom.kernel_size) * n * math.prod(geom.output_size) * x.dtype.itemsize


def _batch_chunks(x, geom: ConvGeometry) -> list[tuple[int, int]]:
    """[start, stop) sample ranges whose column matrix fits the workspace limit.

    There is always at least one (possibly empty) chunk, so an empty batch still produces
    correctly shaped results.
    """
    batch = x.shape[0]
    sample_bytes = _column_bytes(x[:1], geom)
    per_chunk = max(1, _workspace_limit // max(sample_bytes, 1))
    return [(start, min(start + per_chunk, batch)) for start in range(0, max(batch, 1), per_chunk)]


def _grouped_weight(w, groups: int):
    """(C_out, Cg, KH, KW) -> (G, C_out/G, Cg*KH*KW): W_g, the left GEMM operand of group g.

    Output channels are group-major too, and the (Cg, KH, KW) flattening matches the rows of
    the column matrix, so this is a free reshape.
    """
    out_channels, group_channels, kh, kw = w.shape
    return w.reshape(groups, out_channels // groups, group_channels * kh * kw)


# Column orders, as the axes of the output (n, C_out, OH, OW) in the order the GEMM's result
# (C_out, columns) lays them out; they are also the axes of x (N, C, H, W) in the order of the
# padded input the columns are copied from.
BATCH_INNERMOST = (1, 2, 3, 0)  # columns (p, q, n), padded input (C, Hp, Wp, N)
SAMPLE_MAJOR = (1, 0, 2, 3)  # columns (n, p, q), padded input (C, N, Hp, Wp)


def column_order(batch: int, geom: ConvGeometry) -> tuple[int, ...]:
    """The column order that copies faster for this layer (see the module docstring).

    Batch innermost copies window rows of OW*N values but transposes runs of N; sample-major
    copies window rows of OW values (contiguous only at stride 1) and transposes whole rows.
    """
    _, stride_w = geom.stride
    _, ow = geom.output_size
    return SAMPLE_MAJOR if stride_w == 1 and ow > batch else BATCH_INNERMOST


def _batch_split(batch: int, order: tuple[int, ...]) -> tuple[int, int]:
    """(A, B): the samples before the rows and after the columns, (1, N) batch innermost, (N, 1) sample-major.

    With them every array below has one shape for both orders, the padded input (C, A, Hp, Wp, B)
    and the columns (C, KH, KW, A, OH, OW, B), and one index selects rows and columns in it.
    """
    return (1, batch) if order == BATCH_INNERMOST else (batch, 1)


def _as_nchw(array, nchw_shape: tuple[int, ...], order: tuple[int, ...]):
    """An array holding the (N, C, H, W) axes in ``order`` (any reshape of that), as an (N, C, H, W) view."""
    inverse = tuple(order.index(axis) for axis in range(4))
    return array.reshape([nchw_shape[axis] for axis in order]).transpose(inverse)


def _padded_input(x, geom: ConvGeometry, order: tuple[int, ...]):
    """(n, C, H, W) -> (C, A, Hp, Wp, B): the input padded with zeros, in ``order`` (see :func:`_batch_split`).

    One transposing copy into this thread's reusable buffer (see :mod:`.workspace`); only the
    border around the image is zeroed, so that every element is written once.
    """
    xp = array_module(x)
    n, channels, height, width = x.shape
    before, after = _batch_split(n, order)
    top, _, left, _ = geom.padding
    padded = scratch("padded_input", (channels, before, *geom.padded_size, after), x.dtype, xp)
    x_in_order = x.transpose(order).reshape(channels, before, height, width, after)
    rows = slice(top, top + height)

    def lay_out(c: slice):  # the channels c, on one core (see .parallel)
        if geom.is_padded:
            for border in (padded[c, :, :top], padded[c, :, top + height:],
                           padded[c, :, rows, :left], padded[c, :, rows, left + width:]):
                border.fill(0)  # (an empty view on a side without padding)
        padded[c, :, rows, left : left + width] = x_in_order[c]

    split_over_cores(lay_out, channels, padded)
    return padded


def im2col(x, geom: ConvGeometry, order: tuple[int, ...] = BATCH_INNERMOST, out=None):
    """im2col: (n, C, H, W) -> column matrix (G, Cg*KH*KW, columns in ``order``), written into ``out`` if given."""
    n, channels = x.shape[:2]
    groups = geom.groups
    kh, kw = geom.kernel_size
    oh, ow = geom.output_size
    xp = array_module(x)
    padded = _padded_input(x, geom, order)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    stride_c, stride_a, stride_h, stride_w, stride_b = padded.strides  # in bytes
    # A view (only ever read) with windows[c, i, j, a, p, q, b] = padded[c, a, p*SH + i*DH, q*SW + j*DW, b]:
    # stepping the tap i moves DH rows, stepping the output row p moves SH rows. Neighbouring
    # windows overlap, so the view aliases memory; the copy below materialises it exactly once,
    # already in the (rows = (c, i, j), columns = (a, p, q, b)) order of the GEMM. Batch
    # innermost at stride 1, the (q, b) axes are one contiguous run (stride_w == n * stride_b).
    windows = xp.lib.stride_tricks.as_strided(
        padded,
        shape=(channels, kh, kw, padded.shape[1], oh, ow, padded.shape[4]),
        strides=(stride_c, dh * stride_h, dw * stride_w, stride_a, sh * stride_h, sw * stride_w, stride_b),
    )
    # Channels are group-major (c = g*Cg + c'), so splitting the (C, KH, KW) rows into
    # (G, Cg*KH*KW) is a free reshape of the contiguous copy.
    shape = (groups, channels // groups * kh * kw, oh * ow * n)
    columns = xp.empty(windows.shape, dtype=x.dtype) if out is None else out.reshape(windows.shape)
    split_over_cores(lambda c: xp.copyto(columns[c], windows[c]), channels, columns)
    return columns.reshape(shape)


def col2im(grad_cols, geom: ConvGeometry, input_shape, order: tuple[int, ...] = BATCH_INNERMOST):
    """Gradient of im2col: (G, Cg*KH*KW, columns in ``order``) -> (n, C, H, W).

    Each input pixel was copied into the column of every window covering it, so its gradient
    is the sum of all those column entries. A single scatter through the strided view would
    not sum entries that land on the same pixel; but for one fixed tap (i, j) the pixels read
    by different output positions are distinct, so adding tap by tap (KH*KW strided slice
    additions over the whole batch) accumulates every contribution exactly once. The sums run
    in the columns' own order, so each addition reads and writes the same runs im2col copied;
    the result is returned as an (n, C, H, W) view of that buffer.
    """
    xp = array_module(grad_cols)
    n, channels, height, width = input_shape
    before, after = _batch_split(n, order)
    kh, kw = geom.kernel_size
    top, _, left, _ = geom.padding
    grad_windows = grad_cols.reshape(channels, kh, kw, before, *geom.output_size, after)
    grad_padded = xp.zeros((channels, before, *geom.padded_size, after), dtype=grad_cols.dtype)
    taps = [(i, j, *tap_slice(geom, i, j)[2:]) for i, j in kernel_taps(geom)]  # (i, j, rows, columns)

    def accumulate(c: slice):  # the channels c, on one core (see .parallel)
        for i, j, rows, cols in taps:
            grad_padded[c, :, rows, cols] += grad_windows[c, i, j]

    split_over_cores(accumulate, channels, grad_cols)
    # The gradient of the zero padding is dropped.
    return _as_nchw(grad_padded[:, :, top : top + height, left : left + width], input_shape, order)


def _columns(x, geom: ConvGeometry, order: tuple[int, ...]):
    """im2col into this thread's reusable column buffer (see :mod:`.workspace`)."""
    size = _column_bytes(x, geom) // x.dtype.itemsize
    return im2col(x, geom, order, out=scratch("columns", (size,), x.dtype, array_module(x)))


def _kept_columns(x, geom: ConvGeometry, order: tuple[int, ...]):
    """im2col into a pooled buffer that the backward may still read (see :func:`.workspace.lend`)."""
    size = _column_bytes(x, geom) // x.dtype.itemsize
    return lend((size,), x.dtype, array_module(x), lambda buffer: im2col(x, geom, order, out=buffer))


def _output_from_columns(y_cols, n: int, geom: ConvGeometry, order: tuple[int, ...]):
    """(G, Co/G, columns) -> (n, G*Co/G, OH, OW): the GEMM's result back to NCHW (a view)."""
    groups, per_group = y_cols.shape[:2]
    return _as_nchw(y_cols, (n, groups * per_group, *geom.output_size), order)


def _multiplies_per_sample(xp, order: tuple[int, ...]) -> bool:
    """Whether the GEMMs run one per sample (and group) on grad y and y as they lie in NCHW.

    With sample-major columns the columns of sample n are the (K, OH*OW) block
    cols[g][:, n*L:(n+1)*L], a strided matrix BLAS reads as it is, and y[n]'s group g is its
    product with W_g: the GEMM writes it in place, and grad y needs no transpose for the weight
    gradient either (NumPy's matmul loops over the samples and groups). Batch innermost, the
    product of the whole chunk holds y in (C_out, OH, OW, n) order and is transposed into y;
    CuPy's batched GEMM copies strided operands anyway, so it multiplies whole chunks too.
    """
    return order == SAMPLE_MAJOR and xp.__name__ == "numpy"


def _multiply_into(weight, columns, y, geom: ConvGeometry, order: tuple[int, ...]) -> None:
    """y (n, C_out, OH, OW) = W_g @ cols[g] for every group: weight (G, Co/G, K), columns (G, K, columns in ``order``)."""
    xp = array_module(columns)
    n, pixels = y.shape[0], y.shape[2] * y.shape[3]
    groups, per_group, depth = weight.shape
    if _multiplies_per_sample(xp, order):
        per_sample = columns.reshape(groups, depth, n, pixels).transpose(2, 0, 1, 3)  # (n, G, K, OH*OW), a view
        xp.matmul(weight, per_sample, out=y.reshape(n, groups, per_group, pixels))
    else:
        y[...] = _output_from_columns(xp.matmul(weight, columns), n, geom, order)


def _weight_gradient_per_sample(columns, grad_y, groups: int):
    """(G, Co/G, K): sum over the samples n of dY_g[n] @ cols_g[n]^T, for sample-major columns (G, K, n*L).

    grad_y (n, C_out, OH, OW) is read in place (see :func:`_multiplies_per_sample`). Each
    product is taken as cols_g[n] @ dY_g[n]^T, (K, L) @ (L, Co/G), the operand order that
    the whole-chunk GEMM uses too (see :meth:`Im2colGemm.backward`).
    """
    xp = array_module(columns)
    n, out_channels, oh, ow = grad_y.shape
    depth = columns.shape[1]
    per_sample = columns.reshape(groups, depth, n, oh * ow).transpose(2, 0, 1, 3)  # (n, G, K, L)
    dy = grad_y.reshape(n, groups, out_channels // groups, oh * ow)  # (n, G, Co/G, L)
    return xp.matmul(per_sample, dy.swapaxes(-1, -2)).sum(axis=0).swapaxes(-1, -2)


def _columns_from_output(grad_y, order: tuple[int, ...]):
    """(n, C_out, OH, OW) -> (C_out, columns), the inverse of :func:`_output_from_columns` (one copy)."""
    xp = array_module(grad_y)
    return xp.ascontiguousarray(grad_y.transpose(order)).reshape(grad_y.shape[1], -1)


class Im2colGemm:
    """conv2d as im2col + GEMM over a pair of column functions (``ConvAlgorithm`` protocol).

    ``columns(x (n, C, H, W), geom)`` builds the column matrix (G, Cg*KH*KW, n*OH*OW) with its
    columns in ``order`` (:data:`BATCH_INNERMOST` or :data:`SAMPLE_MAJOR`), and
    ``col2im(grad_cols, geom, input_shape)`` sends its gradient back to (n, C, H, W). The
    GEMMs, the batch chunking and the layout changes are the same whoever builds the columns:
    this module's NumPy/CuPy array code (the generic algorithm below), or a backend's compiled
    kernels (Numba, CUDA), which register their own instance. ``columns`` may return a reused
    buffer, valid until its next call; ``kept_columns`` (by default ``columns`` itself, for
    builders that return a new array each time) must return one the backward can still read.
    """

    def __init__(self, columns: Callable, col2im: Callable, order: tuple[int, ...] = SAMPLE_MAJOR,
                 kept_columns: Callable | None = None):
        self.columns = columns
        self.col2im = col2im
        self.order = order
        self.kept_columns = kept_columns or columns

    def forward(self, x, w, geom: ConvGeometry):
        """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
        return self._forward(x, w, geom, keep=False)[0]

    def forward_saving(self, x, w, geom: ConvGeometry):
        """:meth:`forward`, and the column matrix for the backward's weight gradient to reuse.

        The forward and the weight gradient multiply the same columns; keeping them saves
        rebuilding them (LeNet-5 training: a quarter of the time im2col takes per step). They
        are kept only when the whole batch is one chunk of at most :data:`KEEP_LIMIT` bytes —
        otherwise the saved value is None and the backward rebuilds them.
        """
        return self._forward(x, w, geom, keep=True)

    def _forward(self, x, w, geom: ConvGeometry, keep: bool):
        xp = array_module(x)
        batch = x.shape[0]
        out_channels = w.shape[0]
        oh, ow = geom.output_size
        weight = _grouped_weight(w, geom.groups)
        if geom.is_pointwise:
            # 1x1 kernel, stride 1, no padding: every pixel is its own window, so each sample
            # already is its column matrix: one GEMM per sample, (G, Co/G, Cg) @ (N, G, Cg, H*W).
            columns = x.reshape(batch, geom.groups, -1, oh * ow)
            return xp.matmul(weight, columns).reshape(batch, out_channels, oh, ow), None
        chunks = _batch_chunks(x, geom)
        keep = keep and len(chunks) == 1 and _column_bytes(x, geom) <= KEEP_LIMIT
        build = self.kept_columns if keep else self.columns
        y = xp.empty((batch, out_channels, oh, ow), dtype=xp.result_type(x, w))
        for start, stop in chunks:
            columns = build(x[start:stop], geom)
            _multiply_into(weight, columns, y[start:stop], geom, self.order)
        return y, (columns if keep else None)

    def backward(self, grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool, saved=None):
        """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None).

        ``saved``: what :meth:`forward_saving` returned beside y (the columns, or None).
        """
        xp = array_module(x)
        batch = x.shape[0]
        groups = geom.groups
        oh, ow = geom.output_size
        weight = _grouped_weight(w, groups)
        if geom.is_pointwise:
            dy = grad_y.reshape(batch, groups, -1, oh * ow)
            columns = x.reshape(batch, groups, -1, oh * ow)
            grad_x = xp.matmul(weight.swapaxes(-1, -2), dy).reshape(x.shape) if need_input else None
            grad_w = xp.matmul(dy, columns.swapaxes(-1, -2)).sum(axis=0).reshape(w.shape) if need_weight else None
            return grad_x, grad_w
        by_convolution = need_input and _input_gradient_is_a_convolution(w, geom)
        by_columns = need_input and not by_convolution  # grad x through dcols and col2im
        grad_weight = xp.zeros(weight.shape, dtype=w.dtype) if need_weight else None
        grad_x = xp.empty(x.shape, dtype=x.dtype) if by_columns else None
        # dY in the columns' order serves the weight gradient and dcols; the convolution reads grad y
        # itself, and so do the per-sample GEMMs of the weight gradient on sample-major columns.
        chunks = _batch_chunks(x, geom) if need_weight or by_columns else []
        per_sample = _multiplies_per_sample(xp, self.order)
        for start, stop in chunks:
            dy = None
            if by_columns or not per_sample:
                dy = _columns_from_output(grad_y[start:stop], self.order).reshape(groups, weight.shape[1], -1)
            if need_weight:
                columns = saved if saved is not None else self.columns(x[start:stop], geom)
                if dy is None:
                    grad_weight += _weight_gradient_per_sample(columns, grad_y[start:stop], groups)
                else:
                    # dW_g = dY_g @ cols[g]^T: (Co/G, n*L) @ (n*L, K), the whole chunk in one GEMM,
                    # computed as (cols[g] @ dY_g^T)^T: the same sums, in the operand order OpenBLAS
                    # runs faster when Co/G and K are small next to n*L (LeNet and VGG layers).
                    grad_weight += xp.matmul(columns, dy.swapaxes(-1, -2)).swapaxes(-1, -2)
            if by_columns:
                # dcols[g] = W_g^T @ dY_g: (K, Co/G) @ (Co/G, n*L).
                grad_cols = scratch("grad_columns", (groups, weight.shape[2], dy.shape[2]), dy.dtype, xp)
                xp.matmul(weight.swapaxes(-1, -2), dy, out=grad_cols)
                grad_x[start:stop] = self.col2im(grad_cols, geom, x[start:stop].shape)
        if by_convolution:
            grad_x = self.forward(*_input_gradient_convolution(grad_y, w, geom))
        grad_w = grad_weight.reshape(w.shape) if need_weight else None
        return grad_x, grad_w


def _input_gradient_is_a_convolution(w, geom: ConvGeometry) -> bool:
    """Whether :meth:`Im2colGemm.backward` computes grad x as a convolution of grad y.

    At stride 1 it can: see :func:`_input_gradient_convolution`. That builds a column matrix
    of grad y, (C_out*KH*KW) x (N*H*W), and runs one GEMM with that long inner dimension,
    instead of dcols = W^T @ dY, (C*KH*KW) x (N*OH*OW) written out by a GEMM whose inner
    dimension is only C_out, then col2im's KH*KW strided additions: on vgg_3x3 (64 -> 64
    channels, 56x56) the convolution takes about half their time. When C_out is much larger
    than C (LeNet's 6 -> 16, where the columns would be 3x larger) col2im wins.
    """
    out_channels, group_channels = w.shape[:2]
    return geom.stride == (1, 1) and out_channels <= group_channels * geom.groups


def _input_gradient_convolution(grad_y, w, geom: ConvGeometry):
    """(grad_y', w', geom'): grad x of a stride-1 conv2d is the conv2d of grad y with w'.

    From y[n, o, p, q] = sum_{c,i,j} xpad[n, c, p + i*DH, q + j*DW] * w[o, c, i, j], the input
    pixel (h, w) = (p + i*DH - top, q + j*DW - left) receives

        grad_x[n, c, h, w] = sum_{o,i,j} grad_y[n, o, h + top - i*DH, w + left - j*DW] * w[o, c, i, j]

    (terms off the edge of grad_y are zero). With the tap flipped, i' = KH-1-i, the row read is
    h + i'*DH - (E_h - 1 - top), E_h = (KH-1)*DH + 1 the kernel's extent: a correlation of grad y
    padded by E_h - 1 - top rows above (and E_h - 1 - bottom below, which makes its output H
    rows), with the weight flipped in both taps and its channel axes swapped. A padding larger
    than E - 1 makes that amount negative: grad y is cropped instead. With groups, the swap is
    within each group: w'[g*Cg + c, o, i', j'] = w[g*Co/G + o, c, KH-1-i', KW-1-j'].
    """
    out_channels, group_channels, kh, kw = w.shape
    groups = geom.groups
    flipped = w.reshape(groups, out_channels // groups, group_channels, kh, kw)[..., ::-1, ::-1]
    w_t = flipped.transpose(0, 2, 1, 3, 4).reshape(groups * group_channels, out_channels // groups, kh, kw)
    extent_h, extent_w = geom.kernel_extent
    top, bottom, left, right = geom.padding
    pads = [extent_h - 1 - top, extent_h - 1 - bottom, extent_w - 1 - left, extent_w - 1 - right]
    oh, ow = geom.output_size
    # Negative pads crop grad y; what is left is padded by the non-negative ones.
    rows = slice(max(-pads[0], 0), oh - max(-pads[1], 0))
    cols = slice(max(-pads[2], 0), ow - max(-pads[3], 0))
    grad_y = grad_y[:, :, rows, cols]
    gradient_geom = ConvGeometry(
        kernel_size=geom.kernel_size,
        input_size=grad_y.shape[2:],
        output_size=geom.input_size,
        stride=(1, 1),
        padding=tuple(max(pad, 0) for pad in pads),
        dilation=geom.dilation,
        groups=groups,
    )
    return grad_y, w_t, gradient_geom


# The generic algorithm, registered as "im2col": columns built by NumPy/CuPy array code into
# the reusable scratch buffer, in the order :func:`column_order` picks for the layer.
_in_order = {
    order: Im2colGemm(partial(_columns, order=order), partial(col2im, order=order), order,
                      kept_columns=partial(_kept_columns, order=order))
    for order in (BATCH_INNERMOST, SAMPLE_MAJOR)
}


def forward(x, w, geom: ConvGeometry):
    return _in_order[column_order(x.shape[0], geom)].forward(x, w, geom)


def forward_saving(x, w, geom: ConvGeometry):
    return _in_order[column_order(x.shape[0], geom)].forward_saving(x, w, geom)


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool, saved=None):
    return _in_order[column_order(x.shape[0], geom)].backward(grad_y, x, w, geom, need_input, need_weight, saved)
