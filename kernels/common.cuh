// Index helpers shared by the minicnn kernels (the twins of the @cuda.jit(device=True) helpers
// in minicnn/backends/numba_cuda_kernels.py).
//
// Conventions used by every kernel: arrays are C-contiguous (N, C, H, W); output pixel (p, q)
// reads, through kernel tap (i, j), input pixel (p*SH + i*DH - top, q*SW + j*DW - left), and a
// position outside [0, H) x [0, W) is zero padding (or -inf for max pooling).
#pragma once

// floor(a / b) for b > 0. C++'s / truncates toward zero (-1 / 2 == 0), Python's // floors (-1).
__device__ __forceinline__ int floor_div(int a, int b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// a mod b in [0, b) for b > 0, as Python's %; C++'s % keeps the sign of a.
__device__ __forceinline__ int floor_mod(int a, int b) {
    return a - floor_div(a, b) * b;
}

// The positions p in [lo, hi) whose p*stride + offset lies inside [0, in_len), out of out_len.
// lo = ceil(-offset / stride) when offset < 0; hi - 1 is the last p with p*stride + offset <= in_len - 1.
struct Range {
    int lo, hi;
};

__device__ __forceinline__ Range valid_outputs(int out_len, int in_len, int stride, int offset) {
    const int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    const int hi = offset >= in_len ? 0 : min(out_len, (in_len - 1 - offset) / stride + 1);
    return Range{lo, max(lo, hi)};
}

// -infinity of T, spelled with bit patterns: NVRTC compiles without <cmath>'s INFINITY.
template <typename T>
__device__ __forceinline__ T negative_infinity();

template <>
__device__ __forceinline__ float negative_infinity<float>() {
    return __int_as_float(0xff800000);
}

template <>
__device__ __forceinline__ double negative_infinity<double>() {
    return __longlong_as_double(0xfff0000000000000LL);
}

// Shared memory for the tiles. One extern array per element type: CUDA allows a single
// dynamic shared buffer per kernel, and an extern __shared__ array cannot be a template, so each
// kernel asks for it through this helper and carves it into its tiles.
template <typename T>
__device__ __forceinline__ T* shared_tiles();

template <>
__device__ __forceinline__ float* shared_tiles<float>() {
    extern __shared__ float shared_float[];
    return shared_float;
}

template <>
__device__ __forceinline__ double* shared_tiles<double>() {
    extern __shared__ double shared_double[];
    return shared_double;
}
