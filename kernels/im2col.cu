// im2col and col2im: the memory-bound halves of conv2d-as-GEMM (the GEMMs run in cuBLAS through
// cupy.matmul; see Im2colGemm in minicnn/tuned/numpy/im2col.py), launched by GpuColumns in
// minicnn/tuned/gpu/ops.py.
//
// The column matrix of a chunk of n samples is (C*KH*KW, n*OH*OW), row (c, i, j) and column
// (n, p, q) — the layout of the NumPy im2col — seen here unflattened as cols[c][i][j][n][p][q]:
//     cols[c, i, j, n, p, q] = x[n, c, p*SH + i*DH - top, q*SW + j*DW - left]   (0 in the padding)
// Above each kernel: its grid, block, dynamic shared memory and argument order (checked by
// tests/test_kernel_sources.py).
#include "common.cuh"

// One thread per column-matrix element, in its memory order, so that consecutive threads write
// consecutive addresses (coalesced) while their reads stride through the image by SW.
//
// kernel  im2col
// grid    (ceil(C*KH*KW*N*OH*OW / threads), 1, 1)
// block   (threads, 1, 1), threads = min(256, C*KH*KW*N*OH*OW)
// shared  none
// args    x, cols, batch, channels, height, width, kh, kw, out_h, out_w, sh, sw, top, left, dh, dw
template <typename T>
__global__ void im2col(const T* x, T* cols,
                       int batch, int channels, int height, int width, int kh, int kw, int out_h, int out_w,
                       int sh, int sw, int top, int left, int dh, int dw) {
    const long long element = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    const long long count = (long long)batch * channels * kh * kw * out_h * out_w;
    if (element >= count) return;
    // element = ((((c*KH + i)*KW + j)*N + n)*OH + p)*OW + q: peel the indices off from the right.
    const int q = element % out_w;
    const int p = (element / out_w) % out_h;
    const int n = (element / ((long long)out_w * out_h)) % batch;
    const long long tap = element / ((long long)out_w * out_h * batch);  // (c*KH + i)*KW + j
    const int j = tap % kw;
    const int i = (tap / kw) % kh;
    const int c = tap / ((long long)kw * kh);
    const int row = p * sh + i * dh - top, col = q * sw + j * dw - left;
    const bool inside = 0 <= row && row < height && 0 <= col && col < width;
    cols[element] = inside ? x[(((long long)n * channels + c) * height + row) * width + col] : T(0);
}

// The adjoint: grad_x[n, c, h, v] = sum of the column entries that copied pixel (h, v). One
// thread per input pixel, gathering (deterministic, no atomics): tap i of output row p copied
// row h exactly when reach = h + top - i*DH is >= 0, divisible by SH, and p = reach / SH < OH
// (output_reading).
//
// kernel  col2im
// grid    (ceil(N*C*H*W / threads), 1, 1)
// block   (threads, 1, 1), threads = min(256, N*C*H*W)
// shared  none
// args    cols, grad_x, batch, channels, height, width, kh, kw, out_h, out_w, sh, sw, top, left, dh, dw
template <typename T>
__global__ void col2im(const T* cols, T* grad_x,
                       int batch, int channels, int height, int width, int kh, int kw, int out_h, int out_w,
                       int sh, int sw, int top, int left, int dh, int dw) {
    const long long element = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (element >= (long long)batch * channels * height * width) return;
    const int v = element % width;
    const int h = (element / width) % height;
    const long long plane = element / ((long long)width * height);  // n*C + c
    const int n = plane / channels, c = plane % channels;
    const long long out_plane = (long long)out_h * out_w;
    // cols[c, i, j, n] is the (OH, OW) plane at ((c*KH + i)*KW + j)*N + n.
    T total = 0;
    for (int i = 0; i < kh; ++i) {
        const int p = output_reading(h, i, dh, sh, top, out_h);  // the output row reading h through tap i
        if (p < 0) continue;
        for (int j = 0; j < kw; ++j) {
            const int q = output_reading(v, j, dw, sw, left, out_w);
            if (q < 0) continue;
            total += cols[((((long long)c * kh + i) * kw + j) * batch + n) * out_plane + p * out_w + q];
        }
    }
    grad_x[element] = total;
}

// nvcc builds both precisions from this file (the compile test does); CuPy asks NVRTC for
// "im2col<float>" etc. by name, which instantiates them there.
#define MINICNN_COLUMN_SIZES int, int, int, int, int, int, int, int, int, int, int, int, int, int
#define MINICNN_INSTANTIATE(T)                                                       \
    template __global__ void im2col<T>(const T*, T*, MINICNN_COLUMN_SIZES);          \
    template __global__ void col2im<T>(const T*, T*, MINICNN_COLUMN_SIZES);
MINICNN_INSTANTIATE(float)
MINICNN_INSTANTIATE(double)
