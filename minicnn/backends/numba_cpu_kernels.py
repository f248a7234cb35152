"""Numba CPU kernels: conv2d (direct, and im2col/col2im) and max/avg pooling, as plain loops.

Each kernel is the textbook loop nest, compiled by ``@njit(parallel=True, cache=True)``. The
outermost loop is a ``prange`` over independent pieces of work, chosen so that no two
threads ever write the same element (no locks, no atomics):

- forward conv, im2col, pooling forward: one (sample, output channel) plane per iteration;
- grad input, col2im, pooling backward: one (sample, input channel) plane — each such plane
  gathers the contributions of all the outputs that read it;
- grad weight: one weight element per iteration, a reduction into a local scalar.

Arrays come in C-contiguous (the callers make sure), so the innermost loop walks along a row:
consecutive ``q`` touch consecutive output pixels, which Numba vectorises. Bounds checks are
hoisted out of the inner loops by :func:`valid_outputs`, which gives the range of output
positions whose input lies inside the (unpadded) image — padding is never materialised.

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


def _compile(parallel: bool):
    """``@njit(cache=True)`` (with ``parallel``), or without the cache when no directory is writable.

    Numba caches next to this file or in the user's cache directory (NUMBA_CACHE_DIR overrides
    both). When none is writable, decorating raises RuntimeError ("no locator available");
    the kernels then compile afresh in each process instead of failing the import.
    """

    def decorate(function):
        try:
            return numba.njit(parallel=parallel, cache=True)(function)
        except RuntimeError:
            return numba.njit(parallel=parallel)(function)

    return decorate


parallel_kernel = _compile(parallel=True)
helper = _compile(parallel=False)


# ---------------------------------------------------------------------------- index helpers
@helper
def valid_outputs(out_len, in_len, stride, offset):
    """[lo, hi): the output positions p whose input position p*stride + offset is in [0, in_len).

    lo is the first p with p*stride >= -offset, i.e. ceil(-offset / stride) when offset < 0;
    hi - 1 is the last p with p*stride + offset <= in_len - 1. Empty (lo == hi) when none is.
    """
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = 0 if offset >= in_len else min(out_len, (in_len - 1 - offset) // stride + 1)
    return lo, max(lo, hi)


@helper
def first_tap_at_or_after_border(start, dilation):
    """The coordinate torch reports for a window's winner when every tap is -inf (its first tap).

    A first tap in the top/left padding (start < 0) is replaced by the window's first tap at or
    after the border; taps are ``dilation`` apart, so that is ``start mod dilation``.
    """
    return start % dilation if start < 0 else start


@helper
def window_reads_input(start, taps, dilation, size):
    """Whether any of the taps start, start + dilation, … lands inside [0, size)."""
    lo, hi = valid_outputs(taps, size, dilation, start)
    return hi > lo


# ---------------------------------------------------------------------------- direct conv
@parallel_kernel
def conv2d_forward(x, w, y, sh, sw, top, left, dh, dw, groups):
    """y[n, o] = sum over (c, i, j) of w[o, c, i, j] * x[n, g*Cg + c] shifted by tap (i, j).

    x (N, C, H, W), w (C_out, Cg, KH, KW), y (N, C_out, OH, OW) written in full.
    """
    batch, channels, height, width = x.shape
    out_channels, group_channels, kh, kw = w.shape
    out_h, out_w = y.shape[2], y.shape[3]
    per_group = out_channels // groups
    for plane in prange(batch * out_channels):
        n, o = plane // out_channels, plane % out_channels
        first_channel = (o // per_group) * group_channels  # input channels of o's group start here
        out = y[n, o]
        out[:, :] = 0
        for c in range(group_channels):
            image = x[n, first_channel + c]
            for i in range(kh):
                # rows p whose tap-i input row p*SH + i*DH - top is inside the image
                p_lo, p_hi = valid_outputs(out_h, height, sh, i * dh - top)
                for j in range(kw):
                    q_lo, q_hi = valid_outputs(out_w, width, sw, j * dw - left)
                    tap = w[o, c, i, j]
                    for p in range(p_lo, p_hi):
                        row = p * sh + i * dh - top
                        for q in range(q_lo, q_hi):
                            out[p, q] += tap * image[row, q * sw + j * dw - left]


@parallel_kernel
def conv2d_grad_input(grad_y, w, grad_x, sh, sw, top, left, dh, dw, groups):
    """grad_x[n, c] = sum over the outputs o of c's group and taps (i, j) of
    w[o, c - g*Cg, i, j] * grad_y[n, o] placed back where tap (i, j) read it.

    The forward loop nest with the roles of x and y swapped: each output pixel sends its
    gradient to the pixel it read. grad_y (N, C_out, OH, OW), grad_x (N, C, H, W) written in full.
    """
    batch, out_channels, out_h, out_w = grad_y.shape
    _, group_channels, kh, kw = w.shape
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    per_group = out_channels // groups
    for plane in prange(batch * channels):
        n, channel = plane // channels, plane % channels
        g, c = channel // group_channels, channel % group_channels  # c: index within the group
        grad_image = grad_x[n, channel]
        grad_image[:, :] = 0
        for o in range(g * per_group, (g + 1) * per_group):
            grad_out = grad_y[n, o]
            for i in range(kh):
                p_lo, p_hi = valid_outputs(out_h, height, sh, i * dh - top)
                for j in range(kw):
                    q_lo, q_hi = valid_outputs(out_w, width, sw, j * dw - left)
                    tap = w[o, c, i, j]
                    for p in range(p_lo, p_hi):
                        row = p * sh + i * dh - top
                        for q in range(q_lo, q_hi):
                            grad_image[row, q * sw + j * dw - left] += tap * grad_out[p, q]


@parallel_kernel
def conv2d_grad_weight(grad_y, x, grad_w, sh, sw, top, left, dh, dw, groups):
    """grad_w[o, c, i, j] = sum over n, p, q of grad_y[n, o, p, q] * (what tap (i, j) of
    output (p, q) read from channel g*Cg + c of sample n).

    One weight element per iteration, summed in float64 (a reduction over N*OH*OW terms).
    grad_y (N, C_out, OH, OW), x (N, C, H, W), grad_w (C_out, Cg, KH, KW) written in full.
    """
    batch, out_channels, out_h, out_w = grad_y.shape
    height, width = x.shape[2], x.shape[3]
    _, group_channels, kh, kw = grad_w.shape
    per_group = out_channels // groups
    taps = kh * kw
    for element in prange(out_channels * group_channels * taps):
        # element = ((o * Cg) + c) * KH*KW + i*KW + j
        o, rest = element // (group_channels * taps), element % (group_channels * taps)
        c, tap = rest // taps, rest % taps
        i, j = tap // kw, tap % kw
        channel = (o // per_group) * group_channels + c
        p_lo, p_hi = valid_outputs(out_h, height, sh, i * dh - top)
        q_lo, q_hi = valid_outputs(out_w, width, sw, j * dw - left)
        total = 0.0
        for n in range(batch):
            for p in range(p_lo, p_hi):
                row = p * sh + i * dh - top
                for q in range(q_lo, q_hi):
                    total += grad_y[n, o, p, q] * x[n, channel, row, q * sw + j * dw - left]
        grad_w[o, c, i, j] = total


# ---------------------------------------------------------------------------- im2col / col2im
@parallel_kernel
def im2col(x, cols, sh, sw, top, left, dh, dw):
    """cols[c, i, j, n, p, q] = x[n, c, p*SH + i*DH - top, q*SW + j*DW - left], 0 in the padding.

    x (N, C, H, W); cols (C, KH, KW, N, OH, OW) — the column matrix (C*KH*KW, N*OH*OW) of
    :mod:`minicnn.functional.conv.im2col` seen with its indices unflattened. Every element is written.
    """
    batch, channels, height, width = x.shape
    kh, kw, out_h, out_w = cols.shape[1], cols.shape[2], cols.shape[4], cols.shape[5]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        image = x[n, c]
        for i in range(kh):
            p_lo, p_hi = valid_outputs(out_h, height, sh, i * dh - top)
            for j in range(kw):
                q_lo, q_hi = valid_outputs(out_w, width, sw, j * dw - left)
                column = cols[c, i, j, n]  # (OH, OW): what tap (i, j) reads for every output pixel
                column[:, :] = 0
                for p in range(p_lo, p_hi):
                    row = p * sh + i * dh - top
                    for q in range(q_lo, q_hi):
                        column[p, q] = image[row, q * sw + j * dw - left]


@parallel_kernel
def col2im(cols, grad_x, sh, sw, top, left, dh, dw):
    """The adjoint of :func:`im2col`: every column entry is added back onto the pixel it copied.

    A pixel read by several windows collects the sum of their entries; entries that copied
    padding are dropped. cols (C, KH, KW, N, OH, OW), grad_x (N, C, H, W) written in full.
    """
    batch, channels, height, width = grad_x.shape
    kh, kw, out_h, out_w = cols.shape[1], cols.shape[2], cols.shape[4], cols.shape[5]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        grad_image = grad_x[n, c]
        grad_image[:, :] = 0
        for i in range(kh):
            p_lo, p_hi = valid_outputs(out_h, height, sh, i * dh - top)
            for j in range(kw):
                q_lo, q_hi = valid_outputs(out_w, width, sw, j * dw - left)
                column = cols[c, i, j, n]
                for p in range(p_lo, p_hi):
                    row = p * sh + i * dh - top
                    for q in range(q_lo, q_hi):
                        grad_image[row, q * sw + j * dw - left] += column[p, q]


# ---------------------------------------------------------------------------- max pooling
@parallel_kernel
def max_pool_forward(x, values, indices, kh, kw, sh, sw, ph, pw, dh, dw):
    """values[n, c, p, q] = max of window (p, q); indices = its flat position row*W + col.

    Window (p, q) reads rows p*SH - PH + a*DH (a < KH) and columns q*SW - PW + b*DW (b < KW).
    Taps are scanned row-major and only a strictly larger value replaces the best, so the
    FIRST largest tap wins, as in torch. Padding taps are -inf: when nothing beats -inf the
    window's first tap stands, reported as torch does (:func:`first_tap_at_or_after_border`).
    A NaN wins over every number and the first NaN is kept, as NumPy's argmax does.
    """
    batch, channels, height, width = x.shape
    out_h, out_w = values.shape[2], values.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        image = x[n, c]
        for p in range(out_h):
            row0 = p * sh - ph  # row of tap a = 0
            a_lo, a_hi = valid_outputs(kh, height, dh, row0)  # taps a whose row is inside
            for q in range(out_w):
                col0 = q * sw - pw
                b_lo, b_hi = valid_outputs(kw, width, dw, col0)
                best = -np.inf
                winner = first_tap_at_or_after_border(row0, dh) * width + first_tap_at_or_after_border(col0, dw)
                for a in range(a_lo, a_hi):
                    row = row0 + a * dh
                    for b in range(b_lo, b_hi):
                        col = col0 + b * dw
                        value = image[row, col]
                        if value > best or (math.isnan(value) and not math.isnan(best)):
                            best = value
                            winner = row * width + col
                values[n, c, p, q] = best
                indices[n, c, p, q] = winner


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
    """
    batch, channels, height, width = x.shape
    out_h, out_w = y.shape[2], y.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        image = x[n, c]
        for p in range(out_h):
            row0 = p * sh - ph
            a_lo, a_hi = valid_outputs(kh, height, 1, row0)
            for q in range(out_w):
                col0 = q * sw - pw
                b_lo, b_hi = valid_outputs(kw, width, 1, col0)
                total = 0.0
                for a in range(a_lo, a_hi):
                    for b in range(b_lo, b_hi):
                        total += image[row0 + a, col0 + b]
                y[n, c, p, q] = total / divisor[p, q]


@parallel_kernel
def avg_pool_backward(grad_out, divisor, grad_x, kh, kw, sh, sw, ph, pw):
    """Every pixel of window (p, q) inside the image receives grad_out[n, c, p, q] / divisor[p, q];
    overlapping windows add up. grad_x written in full."""
    batch, channels, height, width = grad_x.shape
    out_h, out_w = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        grad_image = grad_x[n, c]
        grad_image[:, :] = 0
        for p in range(out_h):
            row0 = p * sh - ph
            a_lo, a_hi = valid_outputs(kh, height, 1, row0)
            for q in range(out_w):
                col0 = q * sw - pw
                b_lo, b_hi = valid_outputs(kw, width, 1, col0)
                share = grad_out[n, c, p, q] / divisor[p, q]
                for a in range(a_lo, a_hi):
                    for b in range(b_lo, b_hi):
                        grad_image[row0 + a, col0 + b] += share
