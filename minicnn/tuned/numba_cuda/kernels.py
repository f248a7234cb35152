"""Numba CUDA kernels: tiled direct conv2d (forward, grad input, grad weight) and pooling.

These are the twins of ``kernels/direct_conv.cu``, ``kernels/max_pool.cu`` and
``kernels/avg_pool.cu``: the same kernels, index for index, in Python syntax. Under Numba's
CUDA simulator (NUMBA_ENABLE_CUDASIM=1) they run on the CPU, thread by thread, so their index
arithmetic is checked against torch on machines without a GPU.

Conventions (as in the CPU kernels): output pixel (p, q) reads, through tap (i, j), input
pixel (p*SH + i*DH - top, q*SW + j*DW - left); anything outside the image is zero padding.
Python's ``//`` and ``%`` floor, also for negative numbers — the CUDA C twins spell that out.
The sizes come in as arguments, not from ``array.shape``, so that the signatures are those of
the CUDA C kernels, which only get pointers (:mod:`minicnn.tuned.gpu.ops` builds the argument lists):

    conv:    (in, in2, out, C, H, W, C_out, Cg, KH, KW, OH, OW, SH, SW, top, left, DH, DW, groups)
    pooling: (in, …, out, N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW[, DH, DW])

The conv kernels stage tiles in dynamic shared memory, whose element type must be known when
compiling, and take the tile side and the grad-weight block size as compile-time constants
(the twins of direct_conv.cu's MINICNN_TILE and MINICNN_WEIGHT_THREADS macros), so they are
built once per (dtype, tile, weight threads) by :func:`conv_kernels`. The pooling kernels need
no shared memory and are compiled per argument types by Numba as usual.
"""
from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numba
import numpy as np
from numba import cuda

from .. import index_math


# ---------------------------------------------------------------------------- device helpers
# The index arithmetic shared with the Numba CPU kernels (minicnn.tuned.index_math), compiled as
# device functions inlined into the kernels that call them.
_index = index_math.compile_for(cuda.jit(device=True, inline="always"))
valid_outputs = _index.valid_outputs
window_reads_input = _index.window_reads_input
first_tap_at_or_after_border = _index.first_tap_at_or_after_border
output_reading = _index.output_reading
input_extent = _index.input_extent


# ---------------------------------------------------------------------------- tiled direct conv
@functools.lru_cache(maxsize=None)
def conv_kernels(dtype: np.dtype, tile: int, weight_threads: int) -> SimpleNamespace:
    """The three direct-conv kernels for float32 or float64 arrays, with tiles of up to
    ``tile`` x ``tile`` pixels and grad-weight blocks of up to ``weight_threads`` threads
    (compiled on first launch; the launches of :mod:`minicnn.tuned.gpu.launch` must use the same values).
    """
    real = numba.from_dtype(dtype)  # element type of the shared-memory tiles
    zero = dtype.type(0)  # accumulators start in the array's own precision

    @cuda.jit
    def conv2d_forward(x, w, y, channels, height, width, out_channels, group_channels, kh, kw, out_h, out_w,
                sh, sw, top, left, dh, dw, groups):
        """y (N, C_out, OH, OW) from x (N, C, H, W) and w (C_out, Cg, KH, KW).

        grid (N*C_out, tiles down, tiles across); block (tile_w, tile_h), a tile of up to
        ``tile`` x ``tile`` pixels: one thread per output pixel of plane (n, o). Per input
        channel c of o's group, the block stages in shared memory the input patch its tile
        reads — rows row0 … row0 + patch_h - 1 with row0 = (first output row)*SH - top and
        patch_h = (tile_h-1)*SH + (KH-1)*DH + 1 — and the KH*KW weights w[o, c]; then output (p, q) = tile position (ty, tx) reads tap (i, j)
        at patch[ty*SH + i*DH, tx*SW + j*DW]. Each input pixel is fetched from global memory
        once per block instead of once per tap.
        """
        tile_h, tile_w = min(tile, out_h), min(tile, out_w)  # = the block's shape
        patch_h, patch_w = input_extent(tile_h, kh, sh, dh), input_extent(tile_w, kw, sw, dw)
        shared = cuda.shared.array(0, dtype=real)
        patch = shared[: patch_h * patch_w]  # row-major (patch_h, patch_w)
        taps = shared[patch_h * patch_w : patch_h * patch_w + kh * kw]  # row-major (KH, KW)

        n, o = cuda.blockIdx.x // out_channels, cuda.blockIdx.x % out_channels
        first_channel = (o // (out_channels // groups)) * group_channels
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        p0, q0 = cuda.blockIdx.y * tile_h, cuda.blockIdx.z * tile_w  # the tile's first output row / column
        p, q = p0 + ty, q0 + tx
        row0 = p0 * sh - top  # input row of patch row 0
        col0 = q0 * sw - left
        thread, threads = ty * tile_w + tx, tile_h * tile_w

        total = zero
        for c in range(group_channels):
            # The block's threads load the patch together, element e by thread e mod threads.
            for e in range(thread, patch_h * patch_w, threads):
                row, col = row0 + e // patch_w, col0 + e % patch_w
                inside = 0 <= row < height and 0 <= col < width
                patch[e] = x[n, first_channel + c, row, col] if inside else zero
            for e in range(thread, kh * kw, threads):
                taps[e] = w[o, c, e // kw, e % kw]
            cuda.syncthreads()  # the tiles are complete before anyone reads them
            if p < out_h and q < out_w:
                for i in range(kh):
                    for j in range(kw):
                        total += taps[i * kw + j] * patch[(ty * sh + i * dh) * patch_w + tx * sw + j * dw]
            cuda.syncthreads()  # everyone is done reading before the next channel overwrites them
        if p < out_h and q < out_w:
            y[n, o, p, q] = total

    @cuda.jit
    def conv2d_grad_input(grad_y, w, grad_x, channels, height, width, out_channels, group_channels, kh, kw,
                   out_h, out_w, sh, sw, top, left, dh, dw, groups):
        """grad_x (N, C, H, W) from grad_y (N, C_out, OH, OW) and w; one thread per input pixel.

        Input row h is read by output row p through tap i exactly when p*SH + i*DH - top == h,
        i.e. when reach = h + top - i*DH is >= 0 and divisible by SH, with p = reach / SH < OH
        (:func:`output_reading`).
        Each thread gathers those contributions (no two threads write the same pixel, so no
        atomics). grid (N*C, tiles down, tiles across) over the input; block (tile_w, tile_h).
        The output rows that reach the tile's input rows h0 … h0 + tile_h - 1 are
        p_first = floor((h0 + top - (KH-1)*DH) / SH) … floor((h0 + tile_h - 1 + top) / SH);
        that grad_y patch (zero outside the output) and w[o, c] are staged per output channel o.
        """
        tile_h, tile_w = min(tile, height), min(tile, width)  # = the block's shape
        n, channel = cuda.blockIdx.x // channels, cuda.blockIdx.x % channels
        g, c = channel // group_channels, channel % group_channels  # group, channel within it
        per_group = out_channels // groups
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        h0, v0 = cuda.blockIdx.y * tile_h, cuda.blockIdx.z * tile_w  # first input row / column
        h, v = h0 + ty, v0 + tx
        p_first = (h0 + top - (kh - 1) * dh) // sh  # floor division: the numerator may be < 0
        q_first = (v0 + left - (kw - 1) * dw) // sw
        patch_h = (h0 + tile_h - 1 + top) // sh - p_first + 1
        patch_w = (v0 + tile_w - 1 + left) // sw - q_first + 1
        shared = cuda.shared.array(0, dtype=real)
        patch = shared[: patch_h * patch_w]
        taps = shared[patch_h * patch_w : patch_h * patch_w + kh * kw]
        thread, threads = ty * tile_w + tx, tile_h * tile_w

        total = zero
        for o in range(g * per_group, (g + 1) * per_group):
            for e in range(thread, patch_h * patch_w, threads):
                p, q = p_first + e // patch_w, q_first + e % patch_w
                inside = 0 <= p < out_h and 0 <= q < out_w
                patch[e] = grad_y[n, o, p, q] if inside else zero
            for e in range(thread, kh * kw, threads):
                taps[e] = w[o, c, e // kw, e % kw]
            cuda.syncthreads()
            if h < height and v < width:
                for i in range(kh):
                    p = output_reading(h, i, dh, sh, top, out_h)  # the output row reading h through tap i
                    if p < 0:
                        continue
                    for j in range(kw):
                        q = output_reading(v, j, dw, sw, left, out_w)
                        if q >= 0:
                            total += taps[i * kw + j] * patch[(p - p_first) * patch_w + q - q_first]
            cuda.syncthreads()
        if h < height and v < width:
            grad_x[n, channel, h, v] = total

    @cuda.jit
    def conv2d_grad_weight(grad_y, x, grad_w, channels, height, width, out_channels, group_channels, kh, kw,
                    out_h, out_w, sh, sw, top, left, dh, dw, groups, batch):
        """grad_w (C_out, Cg, KH, KW) += the contribution of samples z, z + grid z, …; grad_w starts at zero.

        grad_w[o, c, i, j] = sum over n, p, q of grad_y[n, o, p, q] * x[n, g*Cg + c,
        p*SH + i*DH - top, q*SW + j*DW - left]. grid (C_out*Cg, tap groups, up to N); a 1-D block
        of taps_per_block taps times ``replicas`` threads (up to ``weight_threads``): thread t
        works on tap blockIdx.y*taps_per_block + t % taps_per_block and on the pixels
        replica, replica + replicas, … of each tile (replica = t // taps_per_block). For each of
        its samples n the block walks the output plane (n, o) tile by tile, staging the grad_y
        tile and the input patch under it (as in the forward); at the end the replicas' partial
        sums are added in shared memory and one atomic add per tap merges the blocks' samples.
        """
        tile_h, tile_w = min(tile, out_h), min(tile, out_w)
        threads = min(weight_threads, kh * kw * tile_h * tile_w)  # = the block's size
        taps_per_block = min(kh * kw, threads)
        replicas = threads // taps_per_block
        t = cuda.threadIdx.x
        o, c = cuda.blockIdx.x // group_channels, cuda.blockIdx.x % group_channels
        channel = (o // (out_channels // groups)) * group_channels + c
        tap = cuda.blockIdx.y * taps_per_block + t % taps_per_block
        replica = t // taps_per_block
        active = replica < replicas and tap < kh * kw  # leftover threads only help loading
        i, j = tap // kw, tap % kw
        patch_h, patch_w = input_extent(tile_h, kh, sh, dh), input_extent(tile_w, kw, sw, dw)
        shared = cuda.shared.array(0, dtype=real)
        grad_tile = shared[: tile_h * tile_w]
        patch = shared[tile_h * tile_w : tile_h * tile_w + patch_h * patch_w]
        partial = shared[tile_h * tile_w + patch_h * patch_w : tile_h * tile_w + patch_h * patch_w + threads]

        total = zero
        for n in range(cuda.blockIdx.z, batch, cuda.gridDim.z):
            for p0 in range(0, out_h, tile_h):
                for q0 in range(0, out_w, tile_w):
                    for e in range(t, tile_h * tile_w, threads):
                        p, q = p0 + e // tile_w, q0 + e % tile_w
                        grad_tile[e] = grad_y[n, o, p, q] if p < out_h and q < out_w else zero
                    row0, col0 = p0 * sh - top, q0 * sw - left
                    for e in range(t, patch_h * patch_w, threads):
                        row, col = row0 + e // patch_w, col0 + e % patch_w
                        inside = 0 <= row < height and 0 <= col < width
                        patch[e] = x[n, channel, row, col] if inside else zero
                    cuda.syncthreads()
                    if active:
                        for e in range(replica, tile_h * tile_w, replicas):
                            tp, tq = e // tile_w, e % tile_w  # the pixel's place in the tile
                            total += grad_tile[e] * patch[(tp * sh + i * dh) * patch_w + tq * sw + j * dw]
                    cuda.syncthreads()
        partial[t] = total
        cuda.syncthreads()
        if active and replica == 0:
            tap_total = zero
            for r in range(replicas):
                tap_total += partial[r * taps_per_block + t]
            cuda.atomic.add(grad_w, (o, c, i, j), tap_total)

    return SimpleNamespace(
        conv2d_forward=conv2d_forward, conv2d_grad_input=conv2d_grad_input, conv2d_grad_weight=conv2d_grad_weight
    )


# ---------------------------------------------------------------------------- pooling
@cuda.jit(device=True)
def output_position(element, channels, out_h, out_w):
    """Flat index of an (N, C, OH, OW) array -> (n, c, p, q)."""
    q = element % out_w
    p = (element // out_w) % out_h
    plane = element // (out_w * out_h)
    return plane // channels, plane % channels, p, q


@cuda.jit
def max_pool_forward(x, values, indices, batch, channels, height, width, out_h, out_w,
                     kh, kw, sh, sw, ph, pw, dh, dw):
    """One thread per output: the window's max and torch's flat index of it (see the CPU twin)."""
    element = cuda.grid(1)
    if element >= batch * channels * out_h * out_w:
        return
    n, c, p, q = output_position(element, channels, out_h, out_w)
    row0, col0 = p * sh - ph, q * sw - pw  # tap (0, 0)
    a_lo, a_hi = valid_outputs(kh, height, dh, row0)  # the taps inside the image
    b_lo, b_hi = valid_outputs(kw, width, dw, col0)
    best = -math.inf
    winner = first_tap_at_or_after_border(row0, dh) * width + first_tap_at_or_after_border(col0, dw)
    for a in range(a_lo, a_hi):
        row = row0 + a * dh
        for b in range(b_lo, b_hi):
            col = col0 + b * dw
            value = x[n, c, row, col]
            if value > best or math.isnan(value):  # the last NaN of a window wins, as in torch
                best = value
                winner = row * width + col
    values[n, c, p, q] = best
    indices[n, c, p, q] = winner


@cuda.jit
def max_pool_backward(grad_out, indices, grad_x, batch, channels, height, width, out_h, out_w,
                      kh, kw, sh, sw, ph, pw, dh, dw):
    """One thread per output adds its gradient onto its winner; grad_x starts at zero.

    Overlapping windows can share a winner, so the add is atomic. Windows wholly in the
    padding read no input and send nothing.
    """
    element = cuda.grid(1)
    if element >= batch * channels * out_h * out_w:
        return
    n, c, p, q = output_position(element, channels, out_h, out_w)
    if window_reads_input(p * sh - ph, kh, dh, height) and window_reads_input(q * sw - pw, kw, dw, width):
        winner = indices[n, c, p, q]
        cuda.atomic.add(grad_x, (n, c, winner // width, winner % width), grad_out[n, c, p, q])


@cuda.jit
def avg_pool_forward(x, divisor, y, batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw):
    """One thread per output: the sum (in float64) of the window's pixels inside the image,
    divided by divisor[p, q] (torch's count for that window)."""
    element = cuda.grid(1)
    if element >= batch * channels * out_h * out_w:
        return
    n, c, p, q = output_position(element, channels, out_h, out_w)
    row0, col0 = p * sh - ph, q * sw - pw
    a_lo, a_hi = valid_outputs(kh, height, 1, row0)
    b_lo, b_hi = valid_outputs(kw, width, 1, col0)
    total = 0.0
    for a in range(a_lo, a_hi):
        for b in range(b_lo, b_hi):
            total += x[n, c, row0 + a, col0 + b]
    y[n, c, p, q] = total / divisor[p, q]


@cuda.jit
def avg_pool_backward(grad_out, divisor, grad_x, batch, channels, height, width, out_h, out_w,
                      kh, kw, sh, sw, ph, pw):
    """One thread per output spreads grad / divisor over its window's pixels (atomically, as
    windows overlap); grad_x starts at zero."""
    element = cuda.grid(1)
    if element >= batch * channels * out_h * out_w:
        return
    n, c, p, q = output_position(element, channels, out_h, out_w)
    row0, col0 = p * sh - ph, q * sw - pw
    a_lo, a_hi = valid_outputs(kh, height, 1, row0)
    b_lo, b_hi = valid_outputs(kw, width, 1, col0)
    share = grad_out[n, c, p, q] / divisor[p, q]
    for a in range(a_lo, a_hi):
        for b in range(b_lo, b_hi):
            cuda.atomic.add(grad_x, (n, c, row0 + a, col0 + b), share)
