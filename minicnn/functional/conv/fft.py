"""conv2d by the convolution theorem: multiply spectra instead of sliding the kernel.

The theorem. Convolving two signals multiplies their discrete Fourier transforms, so a
convolution costs two FFTs, one elementwise product and an inverse FFT. conv2d is a
cross-correlation, y[p] = sum_i w[i] * x[p + i], which is a convolution with the flipped
kernel. The textbook recipe therefore flips w, zero-pads x and w to the linear-convolution
size H + K - 1 (so that the FFT's circular convolution does not wrap around), multiplies the
spectra and crops the "valid" part y[p] = full[p + K - 1], p = 0 … H - K.

Two shortcuts make it cheaper without changing the result:

- Flipping a real kernel conjugates its spectrum (up to a phase shift that moves the valid
  part to index 0), so y = irfft2(X * conj(W)) needs no flip and no crop offset.
- Padding to H + K - 1 is only needed for the full convolution. The wrap-around of a circular
  correlation of size H touches only outputs p > H - K, which the valid crop drops anyway, so
  every transform here has the padded input's size (Hp, Wp). The same size also serves both
  gradients below, so one FFT size fits all three products.

Channels. At every frequency f the sum over input channels is a matrix product, exactly a
1x1 convolution: Y_f[g] = conj(W_f[g]) @ X_f[g] with W_f[g] (Co, Cg) and X_f[g] (Cg, N). All
spectra are therefore stored "frequency-major", (Fh, Fw, G, rows, cols), and one batched
complex GEMM does every frequency and group at once.

Stride and dilation. A strided output is the stride-1 output subsampled (the FFT computes
every position anyway). A dilated kernel is the kernel with DH-1 (DW-1) zero rows (columns)
inserted between its taps.

Backward, with dY1 the gradient of the stride-1 output (grad_y "zero-stuffed": scattered to
every SH-th row and SW-th column, zeros elsewhere):

- grad input = full convolution of dY1 with the dilated kernel: DX_f = W_f^T @ dY1_f.
  Its length, at most (Hp - KHd + 1) + KHd - 1 = Hp, fits the FFT size without wrap-around.
- grad weight = valid correlation of the input with dY1: DW_f = conj(dY1_f) @ X_f^T, of which
  the first KHd x KWd entries are the dilated kernel's gradient; its taps are every DH-th one.

When FFT wins and when it loses. Per (input channel, output channel) pair a direct or im2col
convolution costs O(OH*OW*KH*KW) multiply-adds, the FFT route O(Hp*Wp) products plus
transforms of O(Hp*Wp*log(Hp*Wp)) that are shared across the other channel. The kernel size
drops out, so FFT wins for large kernels, once K*K outgrows the log factor and the overheads
(benchmarks/test_conv_algorithms_bench.py sweeps K to measure where). It loses for the common
3x3 and 1x1 kernels (the transforms cost more than the K*K products they save), for
strided convolutions (it computes about SH*SW times more outputs than it keeps), for
dilated ones (it multiplies the inserted zeros too), and in memory: every spectrum is a complex array
of the padded image size, even for a tiny kernel, and complex GEMMs cost 4 real products.
"""
from __future__ import annotations

from ...backends.arrays import array_module
from ...geometry import ConvGeometry, crop_padding, pad_input, tap_slice


def dilated_kernel(w, dilation: tuple[int, int]):
    """(C_out, Cg, KH, KW) -> (C_out, Cg, DH*(KH-1)+1, DW*(KW-1)+1): zeros between the taps."""
    dh, dw = dilation
    if (dh, dw) == (1, 1):
        return w
    xp = array_module(w)
    out_channels, group_channels, kh, kw = w.shape
    dilated = xp.zeros((out_channels, group_channels, dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=w.dtype)
    dilated[:, :, ::dh, ::dw] = w
    return dilated


def grouped_data(a, groups: int):
    """(N, C, h, w) -> (G, C/G, N, h, w): channels as GEMM rows and samples as columns, per group."""
    batch, channels = a.shape[:2]
    return a.reshape(batch, groups, channels // groups, *a.shape[2:]).transpose(1, 2, 0, 3, 4)


def ungrouped_data(a):
    """Inverse of :func:`_grouped_data`: (G, C/G, N, h, w) -> (N, C, h, w)."""
    groups, group_channels, batch = a.shape[:3]
    return a.transpose(2, 0, 1, 3, 4).reshape(batch, groups * group_channels, *a.shape[3:])


def grouped_kernel(w, groups: int):
    """(C_out, Cg, h, w) -> (G, C_out/G, Cg, h, w): a free reshape, output channels are group-major."""
    out_channels = w.shape[0]
    return w.reshape(groups, out_channels // groups, *w.shape[1:])


def spectrum(a, size: tuple[int, int]):
    """Real (..., h, w) with h, w <= size -> complex (Fh, Fw, ...), frequency-major.

    rfft2 zero-pads the last two axes to ``size`` before transforming. A real signal's spectrum
    is conjugate-symmetric, so rfft2 keeps only Fw = size[1] // 2 + 1 columns (Fh = size[0]).
    """
    xp = array_module(a)
    return xp.moveaxis(xp.fft.rfft2(a, s=size), (-2, -1), (0, 1))


def signal(spectrum, size: tuple[int, int], rows: int, cols: int, dtype):
    """Inverse of :func:`spectrum`: (Fh, Fw, ...) -> real (..., rows, cols), the first rows x cols."""
    xp = array_module(spectrum)
    signal = xp.fft.irfft2(xp.moveaxis(spectrum, (0, 1), (-2, -1)), s=size)
    return signal[..., :rows, :cols].astype(dtype, copy=False)


def _zero_stuffed(grad_y, geom: ConvGeometry):
    """(N, C_out, OH, OW) -> (N, C_out, SH*(OH-1)+1, SW*(OW-1)+1): grad_y where the strided windows start.

    The forward kept only every SH-th row and SW-th column of the stride-1 output; the rows and
    columns it dropped get zero gradient. Trailing stride-1 positions after the last kept one
    are dropped too: their zero gradient would add nothing.
    """
    if geom.stride == (1, 1):
        return grad_y  # nothing was dropped
    xp = array_module(grad_y)
    (sh, sw), (oh, ow) = geom.stride, geom.output_size
    stuffed = xp.zeros(grad_y.shape[:2] + (sh * (oh - 1) + 1, sw * (ow - 1) + 1), dtype=grad_y.dtype)
    stuffed[tap_slice(geom, 0, 0)] = grad_y  # tap (0, 0) of window (p, q) sits at (p*SH, q*SW)
    return stuffed


def forward(x, w, geom: ConvGeometry):
    """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
    xp = array_module(x)
    size = geom.padded_size
    kernel = dilated_kernel(w, geom.dilation)
    x_spectrum = spectrum(grouped_data(pad_input(x, geom), geom.groups), size)  # (Fh, Fw, G, Cg, N)
    w_spectrum = spectrum(grouped_kernel(kernel, geom.groups), size)  # (Fh, Fw, G, Co, Cg)
    # Correlation theorem plus the channel sum: Y_f = conj(W_f) @ X_f at every frequency and group.
    y_spectrum = xp.matmul(w_spectrum.conj(), x_spectrum)  # (Fh, Fw, G, Co, N)
    valid_rows, valid_cols = size[0] - kernel.shape[2] + 1, size[1] - kernel.shape[3] + 1
    y_stride1 = ungrouped_data(signal(y_spectrum, size, valid_rows, valid_cols, x.dtype))
    # Keep the positions where strided windows start; copy, so the discarded ones can be freed.
    return xp.ascontiguousarray(y_stride1[tap_slice(geom, 0, 0)])


def backward(grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
    """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
    xp = array_module(x)
    size = geom.padded_size
    kernel = dilated_kernel(w, geom.dilation)
    grad_spectrum = spectrum(grouped_data(_zero_stuffed(grad_y, geom), geom.groups), size)  # (Fh, Fw, G, Co, N)
    grad_x = grad_w = None
    if need_input:
        w_spectrum = spectrum(grouped_kernel(kernel, geom.groups), size)  # (Fh, Fw, G, Co, Cg)
        # Full convolution of dY1 with the kernel, summed over output channels: W_f^T @ dY1_f.
        grad_x_spectrum = xp.matmul(w_spectrum.swapaxes(-1, -2), grad_spectrum)  # (Fh, Fw, G, Cg, N)
        grad_padded = ungrouped_data(signal(grad_x_spectrum, size, *size, x.dtype))
        grad_x = crop_padding(grad_padded, geom)
    if need_weight:
        x_spectrum = spectrum(grouped_data(pad_input(x, geom), geom.groups), size)  # (Fh, Fw, G, Cg, N)
        # Correlation of the input with dY1, summed over the batch: conj(dY1_f) @ X_f^T.
        grad_w_spectrum = xp.matmul(grad_spectrum.conj(), x_spectrum.swapaxes(-1, -2))  # (Fh, Fw, G, Co, Cg)
        grad_kernel = signal(grad_w_spectrum, size, kernel.shape[2], kernel.shape[3], w.dtype)
        dh, dw = geom.dilation
        grad_w = grad_kernel.reshape(kernel.shape)[:, :, ::dh, ::dw]  # the zeros inserted by dilation are no weights
    return grad_x, grad_w
