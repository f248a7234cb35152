// Max pooling, forward and backward: the twins of max_pool_forward / max_pool_backward in
// minicnn/backends/numba_cuda_kernels.py (checked there against torch under Numba's simulator).
//
// Window (p, q) reads rows p*SH - PH + a*DH (a < KH) and columns q*SW - PW + b*DW (b < KW);
// taps outside the image are padding, i.e. -inf. Arguments after the arrays:
// N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW.
#include "common.cuh"

// torch's winner of an all -inf window is its first tap, moved past the top/left border: taps
// are DH apart, so the first one at or after row 0 is row0 mod DH (Python's mod).
__device__ __forceinline__ int first_tap_at_or_after_border(int start, int dilation) {
    return start < 0 ? floor_mod(start, dilation) : start;
}

// One thread per output: the window's max and the flat index row*W + col of the pixel holding
// it. Taps are scanned row-major and only a strictly larger value replaces the best, so the
// FIRST largest tap wins, as in torch; a NaN takes over from every value, an earlier NaN
// included, so the window's LAST NaN wins, as in torch.
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
template <typename T>
__global__ void max_pool_backward(const T* grad_out, const long long* indices, T* grad_x,
                                  int batch, int channels, int height, int width, int out_h, int out_w,
                                  int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw) {
    const long long element = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (element >= (long long)batch * channels * out_h * out_w) return;
    const int q = element % out_w;
    const int p = (element / out_w) % out_h;
    const long long plane = element / ((long long)out_w * out_h);
    const Range rows = valid_outputs(kh, height, dh, p * sh - ph);
    const Range cols = valid_outputs(kw, width, dw, q * sw - pw);
    if (rows.hi > rows.lo && cols.hi > cols.lo)
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
