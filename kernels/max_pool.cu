// Max pooling, forward and backward: the twins of max_pool_forward / max_pool_backward in
// minicnn/tuned/numba_cuda/kernels.py (checked there against torch under Numba's simulator).
//
// Window (p, q) reads rows p*SH - PH + a*DH (a < KH) and columns q*SW - PW + b*DW (b < KW);
// taps outside the image are padding, i.e. -inf. Above each kernel: its grid, block, dynamic
// shared memory and argument order (checked by tests/test_kernel_sources.py).
#include "common.cuh"

// One thread per output: the window's max and the flat index row*W + col of the pixel holding
// it. Taps are scanned row-major and only a strictly larger value replaces the best, so the
// FIRST largest tap wins, as in torch; a NaN takes over from every value, an earlier NaN
// included, so the window's LAST NaN wins, as in torch.
//
// kernel  max_pool_forward
// grid    (ceil(N*C*OH*OW / threads), 1, 1)
// block   (threads, 1, 1), threads = min(256, N*C*OH*OW)
// shared  none
// args    x, values, indices, batch, channels, height, width, out_h, out_w,
//         kh, kw, sh, sw, ph, pw, dh, dw
template <typename T>
__global__ void max_pool_forward(const T* x, T* values, long long* indices,
                                 int batch, int channels, int height, int width, int out_h, int out_w,
                                 int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) {
    const long long element = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (element >= (long long)batch * channels * out_h * out_w) return;
    const int q = element % out_w;
    const int p = (element / out_w) % out_h;
    const long long plane = element / ((long long)out_w * out_h);  // n*C + c
    const T* image = x + plane * height * width;
    const int row0 = p * sh - ph, col0 = q * sw - pw;  // tap (0, 0)
    const Range rows = valid_outputs(kh, height, dh, row0);  // the taps inside the image
    const Range cols = valid_outputs(kw, width, dw, col0);
    T best = negative_infinity<T>();
    long long winner = (long long)first_tap_at_or_after_border(row0, dh) * width
                       + first_tap_at_or_after_border(col0, dw);
    for (int a = rows.lo; a < rows.hi; ++a) {
        const int row = row0 + a * dh;
        for (int b = cols.lo; b < cols.hi; ++b) {
            const int col = col0 + b * dw;
            const T value = image[row * width + col];
            if (value > best || value != value) {  // x != x: x is NaN
                best = value;
                winner = (long long)row * width + col;
            }
        }
    }
    values[element] = best;
    indices[element] = winner;
}

// One thread per output adds its gradient onto its winner; grad_x is zeroed beforehand.
// Overlapping windows can share a winner, so the add is atomic. A window wholly in the padding
// (possible only with dilation) read no input, so it sends nothing.
//
// kernel  max_pool_backward
// grid    (ceil(N*C*OH*OW / threads), 1, 1)
// block   (threads, 1, 1), threads = min(256, N*C*OH*OW)
// shared  none
// args    grad_out, indices, grad_x, batch, channels, height, width, out_h, out_w,
//         kh, kw, sh, sw, ph, pw, dh, dw
template <typename T>
__global__ void max_pool_backward(const T* grad_out, const long long* indices, T* grad_x,
                                  int batch, int channels, int height, int width, int out_h, int out_w,
                                  int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) {
    const long long element = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (element >= (long long)batch * channels * out_h * out_w) return;
    const int q = element % out_w;
    const int p = (element / out_w) % out_h;
    const long long plane = element / ((long long)out_w * out_h);
    if (window_reads_input(p * sh - ph, kh, dh, height) && window_reads_input(q * sw - pw, kw, dw, width))
        atomicAdd(grad_x + plane * height * width + indices[element], grad_out[element]);
}

// nvcc builds both precisions from this file (the compile test does); CuPy asks NVRTC for
// "max_pool_forward<float>" etc. by name, which instantiates them there.
#define MINICNN_POOL_SIZES int, int, int, int, int, int, int, int, int, int, int, int, int, int
#define MINICNN_INSTANTIATE(T)                                                                          \
    template __global__ void max_pool_forward<T>(const T*, T*, long long*, MINICNN_POOL_SIZES);         \
    template __global__ void max_pool_backward<T>(const T*, const long long*, T*, MINICNN_POOL_SIZES);
MINICNN_INSTANTIATE(float)
MINICNN_INSTANTIATE(double)
