"""Numba CPU kernels: conv2d (direct, and im2col/col2im) and max/avg pooling, as plain loops.

Each kernel is a loop nest compiled by ``@njit(parallel=True, cache=True)``. The outermost
loop is a ``prange`` over independent pieces of work, chosen so that no two threads ever write
the same element (no locks, no atomics):

- pooling forward: one (sample, channel) plane per iteration;
- pooling backward: one (sample, input channel) plane — each such plane gathers the
  contributions of all the outputs that read it;
- im2col: one (input channel, input row), copied into every column block that reads it;
- col2im: one (input channel, input row), gathering from the column blocks that read it;
- direct conv forward: one (output channel, output row) for all samples at once;
- direct conv grad input: one (input channel, input row), gathering from the output rows that read it;
- direct conv grad weight: one kernel row (o, c, i), a reduction into KW local sums.

Arrays come in C-contiguous (the callers make sure). In the pooling kernels the innermost loop
walks along a row: consecutive ``q`` touch consecutive output pixels, which Numba vectorises.
The conv kernels instead work batch-last, the N samples of one pixel side by side: the direct
kernels read grad_y as a (C_out, OH, OW, N) copy and x as a (C, H, SW, U, N) copy whose rows
carry their zero border and are dealt into SW phases (see the direct conv section), and
im2col's column matrix has the batch innermost, (C*KH*KW, OH*OW*N). Their innermost loop then
runs over samples and over whole rows of them (the direct kernels at any stride, im2col at
stride 1, see :func:`column_runs`): rows of LeNet-sized images are too short for a loop along
one to pay. Elsewhere bounds checks are hoisted out of the inner loops by
:func:`valid_outputs`, which gives the range of output positions whose input lies inside the
(unpadded) image; only the direct kernels' copy of x materialises padding, and only its columns.

Index arithmetic shared by every conv kernel (geometry as in ``ConvGeometry``): output pixel
(p, q) reads, through kernel tap (i, j), the input pixel

    row = p*SH + i*DH - top,    col = q*SW + j*DW - left

and a row or column outside [0, H) or [0, W) is padding, i.e. zero. Pooling windows are the
same with the kernel taps (a, b) and padding (PH, PW) on both sides.

Only float32 and float64 arrays are passed in, so every kernel compiles in at most two
specialisations; ``cache=True`` keeps them on disk across processes.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from .. import index_math


def _compile(parallel: bool, fastmath=False):
    """``@njit(cache=True)`` (with ``parallel``, ``fastmath``), or without the cache when no directory is writable.

    Numba caches next to this file or in the user's cache directory (NUMBA_CACHE_DIR overrides
    both). When none is writable, decorating raises RuntimeError ("no locator available");
    the kernels then compile afresh in each process instead of failing the import.
    """

    def decorate(function):
        try:
            return numba.njit(parallel=parallel, fastmath=fastmath, cache=True)(function)
        except RuntimeError:
            return numba.njit(parallel=parallel, fastmath=fastmath)(function)

    return decorate


parallel_kernel = _compile(parallel=True)
helper = _compile(parallel=False)
# The direct conv's inner loops: "contract" lets a*b + c become one fused multiply-add and
# "reassoc" lets a sum be split into vector lanes. Unlike full fastmath, NaN and inf keep
# their meaning, so a NaN in the input still reaches the output as it does in torch.
fast_helper = _compile(parallel=False, fastmath={"contract", "reassoc"})


# ---------------------------------------------------------------------------- index helpers
# The index arithmetic shared with the Numba CUDA kernels (minicnn.tuned.index_math), inlined
# into every kernel that calls it.
_index = index_math.compile_for(numba.njit(inline="always"))
valid_outputs = _index.valid_outputs
first_tap_at_or_after_border = _index.first_tap_at_or_after_border
output_row_reading = _index.output_reading
window_reads_input = _index.window_reads_input


# ---------------------------------------------------------------------------- direct conv
# The three direct kernels read x "batch-last and phase-split", (C, H, SW, U, N), built by the
# backend (minicnn.tuned.numba.batch_last_by_phase): the N samples of one pixel side by side, the row's
# left and right zero border included, and its padded columns dealt into SW phases,
#
#     xs[c, r, phase, u, n] = x[n, c, r, u*SW + phase - left]   (0 in the border),
#
# so that the U columns of one phase, stride SW apart in the image, sit next to each other.
# Output column q reads, through kernel tap j, the padded column q*SW + j*DW; writing
# j*DW = shift*SW + phase, that is column u = q + shift of phase `phase`. For q = 0 … OW-1 these
# are OW consecutive columns of one phase: ONE run of OW*N values, starting at
# :func:`tap_run_start`, at any stride and any padding. One weight tap applied to one output row
# is then "scale that run and add it to the row's accumulator" — a long, unit-stride loop that
# Numba vectorises — instead of a loop along a row only OW wide (10 on LeNet's second layer), or
# OW runs of N values each (at stride 2). grad_y is read batch-last too, (C_out, OH, OW, N):
# output column q owns the segment [q*N, (q+1)*N) of its row.
@fast_helper
def add_scaled(out, out_start, values, values_start, length, scale):
    """out[out_start : out_start+length] += scale * values[values_start : values_start+length].

    The slices are taken first so that the loop index starts at 0: an index that Numba cannot
    prove non-negative gets a wrap-around check, and that check stops the vectorisation.
    """
    target = out[out_start:out_start + length]
    source = values[values_start:values_start + length]
    for k in range(length):
        target[k] += scale * source[k]


@fast_helper
def dot(a, a_start, b, b_start, length):
    """sum of a[a_start + k] * b[b_start + k] for k < length, in the arrays' dtype.

    Vectorised as several partial sums (``fastmath`` allows the reassociation), which also keeps
    the float32 rounding error small; the callers add these partial dots up in float64.
    """
    u = a[a_start:a_start + length]
    v = b[b_start:b_start + length]
    total = u.dtype.type(0)
    for k in range(length):
        total += u[k] * v[k]
    return total


@helper
def columns_per_phase(width, left, out_w, kw, sw, dw):
    """U: how many columns each of the SW phases of a padded row holds — enough for every image
    column (padded columns left … W+left-1) and for every column a tap reads (up to
    (OW-1)*SW + (KW-1)*DW), i.e. ceil(max of the two ends / SW)."""
    end = max(width + left, (out_w - 1) * sw + (kw - 1) * dw + 1)
    return (end + sw - 1) // sw


@helper
def flat_row_start(plane, row, rows, row_length):
    """Where row ``row`` of plane ``plane`` starts in a C-contiguous (planes, rows, ...) array seen flat,
    each row ``row_length`` values long.

    The direct kernels read rows of xs and grad_yt through one flat view taken per call and
    these offsets, rather than a view per row: Numba builds a reshaped view with a runtime call,
    which the inner loops ran some ten thousand times per LeNet-5 step.
    """
    return (plane * rows + row) * row_length


@helper
def tap_run_start(j, dw, sw, phase_columns, batch):
    """Where, in a phase-split batch-last row (SW, U, N) seen flat, the run that kernel tap j
    reads for output columns 0 … OW-1 starts: phase (j*DW) mod SW, column (j*DW) div SW."""
    shift, phase = divmod(j * dw, sw)
    return (phase * phase_columns + shift) * batch


@parallel_kernel
def conv2d_forward(xs, w, y, sh, sw, top, left, dh, dw, groups):
    """y[n, o] = sum over (c, i, j) of w[o, c, i, j] * x[n, g*Cg + c] shifted by tap (i, j).

    xs (C, H, SW, U, N): x batch-last and phase-split, its column border included (so ``left``
    is already in it); w (C_out, Cg, KH, KW); y (N, C_out, OH, OW) written in full.
    One (output channel o, output row p) per iteration: its OW*N outputs are accumulated in a
    private batch-last row, then stored into y's N planes.
    """
    height, phase_columns, batch = xs.shape[1], xs.shape[3], xs.shape[4]
    out_channels, group_channels, kh, kw = w.shape
    out_h, out_w = y.shape[2], y.shape[3]
    per_group = out_channels // groups
    run = out_w * batch
    x_flat, x_row = xs.reshape(-1), xs.shape[2] * xs.shape[3] * batch  # see flat_row_start
    for plane in prange(out_channels * out_h):
        p, o = plane // out_channels, plane % out_channels  # output row major: rows read stay in cache across o
        first_channel = (o // per_group) * group_channels  # input channels of o's group start here
        acc = np.zeros(run, dtype=y.dtype)  # acc[q*N + n] = y[n, o, p, q]
        for c in range(group_channels):
            for i in range(kh):
                row = p * sh + i * dh - top
                if row < 0 or row >= height:  # tap row i of output row p lies in the padding
                    continue
                image_row = flat_row_start(first_channel + c, row, height, x_row)
                for j in range(kw):
                    start = image_row + tap_run_start(j, dw, sw, phase_columns, batch)
                    add_scaled(acc, 0, x_flat, start, run, w[o, c, i, j])
        for n in range(batch):
            for q in range(out_w):
                y[n, o, p, q] = acc[q * batch + n]


@parallel_kernel
def conv2d_grad_input(grad_yt, w, grad_x, sh, sw, top, left, dh, dw, groups):
    """grad_x[n, c] = sum over the outputs o of c's group and taps (i, j) of
    w[o, c - g*Cg, i, j] * grad_y[n, o] placed back where tap (i, j) read it.

    grad_yt (C_out, OH, OW, N): grad_y batch-last; grad_x (N, C, H, W) written in full.
    One (input channel, input row) per iteration, so that no two iterations write the same
    pixel: input row r was read by tap row i of output row p when p*SH + i*DH - top = r, i.e.
    by p = (r + top - i*DH) / SH where that is a whole number in [0, OH). The row's gradient is
    gathered phase-split with its border, as the forward reads x: each tap adds its gradient run
    back onto the run it read. The border's entries (gradients of padding) are then dropped.
    """
    out_channels, out_h, out_w, batch = grad_yt.shape
    _, group_channels, kh, kw = w.shape
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    per_group = out_channels // groups
    run = out_w * batch
    phase_columns = columns_per_phase(width, left, out_w, kw, sw, dw)
    grad_flat = grad_yt.reshape(-1)  # see flat_row_start
    for plane in prange(channels * height):
        row, channel = plane // channels, plane % channels  # input row major: grad rows stay in cache across channels
        g, c = channel // group_channels, channel % group_channels  # c: index within the group
        acc = np.zeros(sw * phase_columns * batch, dtype=grad_x.dtype)  # laid out as a row of xs
        for o in range(g * per_group, (g + 1) * per_group):
            for i in range(kh):
                p = output_row_reading(row, i, dh, sh, top, out_h)
                if p < 0:
                    continue
                grad_row = flat_row_start(o, p, out_h, run)
                for j in range(kw):
                    start = tap_run_start(j, dw, sw, phase_columns, batch)
                    add_scaled(acc, start, grad_flat, grad_row, run, w[o, c, i, j])
        for col in range(width):
            u, phase = divmod(col + left, sw)  # image column col is padded column col + left
            start = (phase * phase_columns + u) * batch
            for n in range(batch):
                grad_x[n, channel, row, col] = acc[start + n]


@parallel_kernel
def conv2d_grad_weight(grad_yt, xs, grad_w, sh, sw, top, left, dh, dw, groups):
    """grad_w[o, c, i, j] = sum over n, p, q of grad_y[n, o, p, q] * (what tap (i, j) of
    output (p, q) read from channel g*Cg + c of sample n).

    grad_yt (C_out, OH, OW, N) batch-last and xs (C, H, SW, U, N) as the forward reads it;
    grad_w (C_out, Cg, KH, KW) written in full. One kernel row (o, c, i) per iteration: for each
    output row p, the KW taps of that row are dot products of the gradient row p with KW runs of
    the same input row p*SH + i*DH - top, which stay in cache across j. Each run's dot is summed
    in the array dtype, the runs in float64.
    """
    out_channels, out_h, out_w, batch = grad_yt.shape
    height, phase_columns = xs.shape[1], xs.shape[3]
    _, group_channels, kh, kw = grad_w.shape
    per_group = out_channels // groups
    run = out_w * batch
    x_flat, x_row = xs.reshape(-1), xs.shape[2] * phase_columns * batch  # see flat_row_start
    grad_flat = grad_yt.reshape(-1)
    for kernel_row in prange(out_channels * group_channels * kh):
        # kernel_row = (c * KH + i) * C_out + o: the next iteration (the next o) reads the same input rows
        rest, o = kernel_row // out_channels, kernel_row % out_channels
        c, i = rest // kh, rest % kh
        channel = (o // per_group) * group_channels + c
        p_lo, p_hi = valid_outputs(out_h, height, sh, i * dh - top)
        totals = np.zeros(kw)  # totals[j] = grad_w[o, c, i, j], in float64
        for p in range(p_lo, p_hi):
            image_row = flat_row_start(channel, p * sh + i * dh - top, height, x_row)
            grad_row = flat_row_start(o, p, out_h, run)
            for j in range(kw):
                start = image_row + tap_run_start(j, dw, sw, phase_columns, batch)
                totals[j] += dot(grad_flat, grad_row, x_flat, start, run)
        for j in range(kw):
            grad_w[o, c, i, j] = totals[j]


# ---------------------------------------------------------------------------- im2col / col2im
# The column matrix has the batch innermost, as the direct kernels' copies do: its columns are
# ordered (p, q, n), so row (c, i, j) of the matrix, cut at output row p, is a block of OW*N
# values in which output column q owns the segment [q*N, (q+1)*N). Hold the input row that tap
# row i of output row p reads batch-last too (W*N values, column col owning [col*N, (col+1)*N)),
# and tap j's part of the block is a copy of runs of that row: at stride 1 ONE run of
# (q_hi - q_lo)*N values (:func:`column_runs`); col2im adds the same runs back. In the
# sample-major order (n, p, q) a run would be only OW values long — 10 on LeNet's second layer.
#
# Both kernels take one input row (c, r) per iteration. im2col gathers it batch-last in the
# kernel, once, and hands it to every block that reads it — rather than reading a transposed
# copy of x, which would be written and read again by one thread (on resnet_s2, stride 2, x is
# half the size of its column matrix); col2im gathers the row's gradient from those same blocks,
# so every pixel's sum stays in one iteration.
@helper
def column_runs(q_lo, q_hi, stride, batch):
    """(count, length): the output columns q_lo..q_hi-1 of a batch-last row, as runs to loop over.

    Column q is the segment [q*N, (q+1)*N) of the output row and reads input column
    q*stride + offset, the segment [(q*stride + offset)*N, ...) of the input row. At stride 1
    consecutive output columns read consecutive input columns, so the q_hi - q_lo segments join
    into ONE run of (q_hi - q_lo)*N values in both rows; at a larger stride each column is a run
    of N of its own. Either way run k starts at column q_lo + k.
    """
    if stride == 1:
        return 1, (q_hi - q_lo) * batch
    return q_hi - q_lo, batch


@parallel_kernel
def im2col(x, cols, sh, sw, top, left, dh, dw):
    """cols[c, i, j, p, q, n] = x[n, c, p*SH + i*DH - top, q*SW + j*DW - left], 0 in the padding.

    x (N, C, H, W); cols (C, KH, KW, OH, OW, N) — the column matrix (C*KH*KW, OH*OW*N) of
    :mod:`minicnn.tuned.numpy.im2col`, batch innermost, seen with its indices unflattened.
    Every element is written exactly once.

    One (channel c, input row r) per iteration: the row is gathered batch-last (N reads of W
    values), then copied, as runs, into every block cols[c, i, j, p] that reads it — those
    with p*SH + i*DH - top = r, i.e. p = (r + top - i*DH) / SH where that is a whole number in
    [0, OH). The blocks of output rows whose tap row i lies in the padding read no input row;
    they are zeroed by the iteration of the input row next to them (the first or the last).
    """
    batch, channels, height, width = x.shape
    kh, kw, out_h, out_w = cols.shape[1], cols.shape[2], cols.shape[3], cols.shape[4]
    for plane in prange(channels * height):
        c, row = plane // height, plane % height
        image_row = np.empty(width * batch, dtype=cols.dtype)  # image_row[col*N + n] = x[n, c, row, col]
        for n in range(batch):
            for col in range(width):
                image_row[col * batch + n] = x[n, c, row, col]
        for i in range(kh):
            # output rows p_lo..p_hi-1 read an image row through tap row i; the others read padding
            p_lo, p_hi = valid_outputs(out_h, height, sh, i * dh - top)
            if row == 0:
                cols[c, i, :, :p_lo] = 0
            if row == height - 1:
                cols[c, i, :, p_hi:] = 0
            p = output_row_reading(row, i, dh, sh, top, out_h)
            if p < 0:
                continue
            for j in range(kw):
                target = cols[c, i, j, p].reshape(-1)  # target[q*N + n] = cols[c, i, j, p, q, n]
                # columns q whose tap-j input column q*SW + j*DW - left is inside the image
                q_lo, q_hi = valid_outputs(out_w, width, sw, j * dw - left)
                target[:q_lo * batch] = 0
                target[q_hi * batch:] = 0
                count, length = column_runs(q_lo, q_hi, sw, batch)
                for q in range(q_lo, q_lo + count):
                    start = (q * sw + j * dw - left) * batch
                    target[q * batch:q * batch + length] = image_row[start:start + length]


@parallel_kernel
def col2im(cols, grad_x, sh, sw, top, left, dh, dw):
    """The adjoint of :func:`im2col`: every column entry is added back onto the pixel it copied.

    cols (C, KH, KW, OH, OW, N), batch innermost; grad_x (N, C, H, W) written in full. A pixel
    read by several windows collects the sum of their entries; entries that copied padding are
    dropped. One (channel, input row) per iteration, so that no two iterations write the same
    pixel: input row r was read by tap row i of output row p when p*SH + i*DH - top = r, i.e. by
    p = (r + top - i*DH) / SH where that is a whole number in [0, OH); the row's gradient is
    gathered batch-last from those blocks, im2col's runs reversed, then stored into N planes.
    """
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    kh, kw, out_h, out_w, batch = cols.shape[1], cols.shape[2], cols.shape[3], cols.shape[4], cols.shape[5]
    one = grad_x.dtype.type(1)  # add_scaled's scale: the entries are added as they are
    for plane in prange(channels * height):
        c, row = plane // height, plane % height
        acc = np.zeros(width * batch, dtype=grad_x.dtype)  # acc[col*N + n] = grad_x[n, c, row, col]
        for i in range(kh):
            p = output_row_reading(row, i, dh, sh, top, out_h)
            if p < 0:
                continue
            for j in range(kw):
                q_lo, q_hi = valid_outputs(out_w, width, sw, j * dw - left)
                count, length = column_runs(q_lo, q_hi, sw, batch)
                column = cols[c, i, j, p].reshape(-1)
                for q in range(q_lo, q_lo + count):
                    add_scaled(acc, (q * sw + j * dw - left) * batch, column, q * batch, length, one)
        for n in range(batch):
            for col in range(width):
                grad_x[n, c, row, col] = acc[col * batch + n]


# ---------------------------------------------------------------------------- max pooling
@parallel_kernel
def max_pool_forward(x, values, indices, kh, kw, sh, sw, ph, pw, dh, dw):
    """values[n, c, p, q] = max of window (p, q); indices = its flat position row*W + col.

    Window (p, q) reads rows p*SH - PH + a*DH (a < KH) and columns q*SW - PW + b*DW (b < KW).
    Taps are scanned row-major and only a strictly larger value replaces the best, so the
    FIRST largest tap wins, as in torch. Padding taps are -inf: when nothing beats -inf the
    window's first tap stands, reported as torch does (:func:`first_tap_at_or_after_border`).
    A NaN takes over from every value, an earlier NaN included, so the window's LAST NaN wins, as
    in torch (whose scan replaces the max when a value is larger or NaN).

    Tap by tap, as the average pooling kernels: the planes of best values and winners start at
    -inf and the first tap, then each tap (a, b), in row-major order, offers one strided slice
    of the image to every window whose tap lies inside it.
    """
    batch, channels, height, width = x.shape
    out_h, out_w = values.shape[2], values.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        image, best, winner = x[n, c], values[n, c], indices[n, c]
        for p in range(out_h):
            first_row = first_tap_at_or_after_border(p * sh - ph, dh)
            for q in range(out_w):
                best[p, q] = -np.inf
                winner[p, q] = first_row * width + first_tap_at_or_after_border(q * sw - pw, dw)
        for a in range(kh):
            p_lo, p_hi = valid_outputs(out_h, height, sh, a * dh - ph)  # windows whose tap row a is inside
            for b in range(kw):
                q_lo, q_hi = valid_outputs(out_w, width, sw, b * dw - pw)
                for p in range(p_lo, p_hi):
                    row = p * sh + a * dh - ph
                    for q in range(q_lo, q_hi):
                        col = q * sw + b * dw - pw
                        value = image[row, col]
                        if value > best[p, q] or math.isnan(value):
                            best[p, q] = value
                            winner[p, q] = row * width + col


@parallel_kernel
def max_pool_backward(grad_out, indices, grad_x, kh, kw, sh, sw, ph, pw, dh, dw):
    """grad_x[n, c].flat[indices[n, c, p, q]] += grad_out[n, c, p, q]: the winner takes it all.

    A window that lies wholly in the padding (possible only with dilation) read no input: its
    output is -inf whatever the input, so its gradient is dropped. grad_x written in full.
    """
    batch, channels, height, width = grad_x.shape
    out_h, out_w = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        grad_image = grad_x[n, c]
        grad_image[:, :] = 0
        for p in range(out_h):
            if not window_reads_input(p * sh - ph, kh, dh, height):
                continue
            for q in range(out_w):
                if window_reads_input(q * sw - pw, kw, dw, width):
                    winner = indices[n, c, p, q]
                    grad_image[winner // width, winner % width] += grad_out[n, c, p, q]


# ---------------------------------------------------------------------------- average pooling
@parallel_kernel
def avg_pool_forward(x, divisor, y, kh, kw, sh, sw, ph, pw):
    """y[n, c, p, q] = (sum of the window's pixels inside the image) / divisor[p, q].

    Padding taps add zero, so only the taps inside the image are summed (in float64).
    divisor (OH, OW) holds torch's count for each window (see ``avg_pool._divisors``).
    Tap by tap: tap (a, b) of every window adds one strided slice of the image to the plane of
    sums — the output rows and columns whose tap lies inside the image found once per tap by
    :func:`valid_outputs` — instead of a short loop over each window's few taps.
    """
    batch, channels, height, width = x.shape
    out_h, out_w = y.shape[2], y.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        image = x[n, c]
        totals = np.zeros((out_h, out_w))  # in float64
        for a in range(kh):
            p_lo, p_hi = valid_outputs(out_h, height, sh, a - ph)  # rows whose tap row a is inside
            for b in range(kw):
                q_lo, q_hi = valid_outputs(out_w, width, sw, b - pw)
                for p in range(p_lo, p_hi):
                    row = p * sh + a - ph
                    for q in range(q_lo, q_hi):
                        totals[p, q] += image[row, q * sw + b - pw]
        for p in range(out_h):
            for q in range(out_w):
                y[n, c, p, q] = totals[p, q] / divisor[p, q]


@parallel_kernel
def avg_pool_backward(grad_out, divisor, grad_x, kh, kw, sh, sw, ph, pw):
    """Every pixel of window (p, q) inside the image receives grad_out[n, c, p, q] / divisor[p, q];
    overlapping windows add up. grad_x written in full; tap by tap, as the forward."""
    batch, channels, height, width = grad_x.shape
    out_h, out_w = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        grad_image = grad_x[n, c]
        grad_image[:, :] = 0
        share = grad_out[n, c] / divisor  # (OH, OW): what each pixel of window (p, q) receives
        for a in range(kh):
            p_lo, p_hi = valid_outputs(out_h, height, sh, a - ph)
            for b in range(kw):
                q_lo, q_hi = valid_outputs(out_w, width, sw, b - pw)
                for p in range(p_lo, p_hi):
                    row = p * sh + a - ph
                    for q in range(q_lo, q_hi):
                        grad_image[row, q * sw + b - pw] += share[p, q]
