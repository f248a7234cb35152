// Index helpers shared by the minicnn kernels. The index arithmetic (valid_outputs …
// input_extent) is the CUDA C spelling of minicnn/tuned/index_math.py, which the Numba CPU and
// Numba CUDA kernels compile from one Python source; tests/test_kernel_sources.py checks that
// each function there has a twin here with the same parameters.
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

// Whether any of the taps start, start + dilation, …, start + (taps-1)*dilation lands in [0, size).
__device__ __forceinline__ bool window_reads_input(int start, int taps, int dilation, int size) {
    const Range inside = valid_outputs(taps, size, dilation, start);
    return inside.hi > inside.lo;
}

// torch's winner of an all -inf max-pool window is its first tap, moved past the top/left border:
// taps are `dilation` apart, so the first one at or after 0 is start mod dilation (Python's mod).
__device__ __forceinline__ int first_tap_at_or_after_border(int start, int dilation) {
    return start < 0 ? floor_mod(start, dilation) : start;
}

// The output position p whose tap `tap` reads input `position`, or -1 if none does: tap i of
// output p reads p*stride + i*dilation - padding, so p = (position + padding - i*dilation) / stride
// where that is a whole number in [0, out_len). C's / and % are exact here: shifted >= 0.
__device__ __forceinline__ int output_reading(int position, int tap, int dilation, int stride, int padding,
                                              int out_len) {
    const int shifted = position + padding - tap * dilation;  // = p*stride for the p that reads position
    if (shifted < 0 || shifted % stride != 0 || shifted / stride >= out_len) return -1;
    return shifted / stride;
}

// Input positions read by `outputs` consecutive outputs, padding included: the side of the patch a
// tile stages.
__device__ __forceinline__ int input_extent(int outputs, int kernel, int stride, int dilation) {
    return (outputs - 1) * stride + (kernel - 1) * dilation + 1;
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
