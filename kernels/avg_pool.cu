// Average pooling, forward and backward: the twins of avg_pool_forward / avg_pool_backward in
// minicnn/tuned/numba_cuda/kernels.py (checked there against torch under Numba's simulator).
//
// Window (p, q) reads rows p*SH - PH + a (a < KH) and columns q*SW - PW + b (b < KW). Padding
// adds zero, so only the taps inside the image are summed. divisor (OH, OW) holds torch's count
// for each window (count_include_pad, ceil_mode and divisor_override are settled on the host, in
// minicnn/functional/pooling/avg_pool.py). Above each kernel: its grid, block, dynamic shared
// memory and argument order (checked by tests/test_kernel_sources.py).
#include "common.cuh"

// One thread per output: the window's sum (in double) divided by its divisor.
//
// kernel  avg_pool_forward
// grid    (ceil(N*C*OH*OW / threads), 1, 1)
// block   (threads, 1, 1), threads = min(256, N*C*OH*OW)
// shared  none
// args    x, divisor, y, batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw
template <typename T>
__global__ void avg_pool_forward(const T* x, const T* divisor, T* y,
                                 int batch, int channels, int height, int width, int out_h, int out_w,
                                 int kh, int kw, int sh, int sw, int ph, int pw) {
    const long long element = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (element >= (long long)batch * channels * out_h * out_w) return;
    const int q = element % out_w;
    const int p = (element / out_w) % out_h;
    const long long plane = element / ((long long)out_w * out_h);  // n*C + c
    const T* image = x + plane * height * width;
    const int row0 = p * sh - ph, col0 = q * sw - pw;
    const Range rows = valid_outputs(kh, height, 1, row0);
    const Range cols = valid_outputs(kw, width, 1, col0);
    double total = 0.0;
    for (int a = rows.lo; a < rows.hi; ++a)
        for (int b = cols.lo; b < cols.hi; ++b)
            total += image[(row0 + a) * width + col0 + b];
    y[element] = total / divisor[p * out_w + q];
}

// One thread per output spreads grad / divisor evenly over its window's pixels inside the
// image; grad_x is zeroed beforehand, and the adds are atomic because windows overlap.
//
// kernel  avg_pool_backward
// grid    (ceil(N*C*OH*OW / threads), 1, 1)
// block   (threads, 1, 1), threads = min(256, N*C*OH*OW)
// shared  none
// args    grad_out, divisor, grad_x, batch, channels, height, width, out_h, out_w, kh, kw, sh, sw, ph, pw
template <typename T>
__global__ void avg_pool_backward(const T* grad_out, const T* divisor, T* grad_x,
                                  int batch, int channels, int height, int width, int out_h, int out_w,
                                  int kh, int kw, int sh, int sw, int ph, int pw) {
    const long long element = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (element >= (long long)batch * channels * out_h * out_w) return;
    const int q = element % out_w;
    const int p = (element / out_w) % out_h;
    const long long plane = element / ((long long)out_w * out_h);
    T* grad_image = grad_x + plane * height * width;
    const int row0 = p * sh - ph, col0 = q * sw - pw;
    const Range rows = valid_outputs(kh, height, 1, row0);
    const Range cols = valid_outputs(kw, width, 1, col0);
    const T share = grad_out[element] / divisor[p * out_w + q];
    for (int a = rows.lo; a < rows.hi; ++a)
        for (int b = cols.lo; b < cols.hi; ++b)
            atomicAdd(grad_image + (row0 + a) * width + col0 + b, share);
}

// nvcc builds both precisions from this file (the compile test does); CuPy asks NVRTC for
// "avg_pool_forward<float>" etc. by name, which instantiates them there.
#define MINICNN_POOL_SIZES int, int, int, int, int, int, int, int, int, int, int, int
#define MINICNN_INSTANTIATE(T)                                                                 \
    template __global__ void avg_pool_forward<T>(const T*, const T*, T*, MINICNN_POOL_SIZES);   \
    template __global__ void avg_pool_backward<T>(const T*, const T*, T*, MINICNN_POOL_SIZES);
MINICNN_INSTANTIATE(float)
MINICNN_INSTANTIATE(double)
