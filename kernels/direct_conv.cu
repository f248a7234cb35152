// Tiled direct convolution: forward, gradient of the input, gradient of the weight.
//
// The twins of conv_kernels() in minicnn/tuned/numba_cuda/kernels.py (checked there, against
// torch, under Numba's CUDA simulator); launched by minicnn/tuned/gpu/ops.py with the launch
// shapes of minicnn/tuned/gpu/launch.py. Above each kernel: its grid, block, dynamic shared
// memory and argument order (tests/test_kernel_sources.py checks the arguments against the
// C parameters and against what the host side passes).
//
// Shapes: x (N, C, H, W), w (C_out, Cg, KH, KW) with Cg = C / groups, y (N, C_out, OH, OW).
// Output channel o belongs to group g = o / (C_out / groups), which reads input channels
// g*Cg … g*Cg + Cg - 1. Output pixel (p, q) reads, through tap (i, j), input pixel
// (p*SH + i*DH - top, q*SW + j*DW - left); outside the image that is zero padding.
// Every kernel takes the same sizes after its three arrays: C, H, W, C_out, Cg, KH, KW, OH, OW,
// then the geometry SH, SW, top, left, DH, DW, groups.
//
// Compile-time constants (-D, passed by the CuPy backend from cuda_launch.tile_constants(), which
// also shapes the launches, so that both agree): MINICNN_TILE, the side of a tile of pixels — a
// plane smaller than it gets a tile of its own size, min(MINICNN_TILE, side) — and
// MINICNN_WEIGHT_THREADS, the most threads of a grad-weight block. They bound the block sizes
// (__launch_bounds__), which lets the compiler give each thread the registers that fit.
#include "common.cuh"

#ifndef MINICNN_TILE
#define MINICNN_TILE 16
#endif
#ifndef MINICNN_WEIGHT_THREADS
#define MINICNN_WEIGHT_THREADS 256
#endif
static_assert(MINICNN_TILE >= 1 && MINICNN_TILE * MINICNN_TILE <= 1024,
              "a tile is one block: at most 1024 threads");
static_assert(MINICNN_WEIGHT_THREADS >= 1 && MINICNN_WEIGHT_THREADS <= 1024, "at most 1024 threads per block");

// Forward: one thread per output pixel of plane (n, o). For each input channel c of o's group the
// block stages in shared memory the input patch its tile reads — patch_h rows from
// row0 = (first output row of the tile)*SH - top, the same for columns — and the KH*KW weights
// w[o, c]. Output (p, q) at tile position (ty, tx) then finds tap (i, j) at
// patch[ty*SH + i*DH][tx*SW + j*DW]: every input pixel comes from global memory once per block
// instead of once per tap.
//
// kernel  conv2d_forward
// grid    (N*C_out, ceil(OH / tile_h), ceil(OW / tile_w)), tile_h = min(MINICNN_TILE, OH), tile_w = min(MINICNN_TILE, OW)
// block   (tile_w, tile_h, 1)
// shared  patch_h*patch_w + KH*KW elements of T, patch_h = (tile_h-1)*SH + (KH-1)*DH + 1, patch_w alike
// args    x, w, y, channels, height, width, out_channels, group_channels, kh, kw, out_h, out_w,
//         sh, sw, top, left, dh, dw, groups
template <typename T>
__global__ void __launch_bounds__(MINICNN_TILE * MINICNN_TILE)
conv2d_forward(const T* x, const T* w, T* y,
               int channels, int height, int width, int out_channels, int group_channels,
               int kh, int kw, int out_h, int out_w,
               int sh, int sw, int top, int left, int dh, int dw, int groups) {
    const int tile_h = min(MINICNN_TILE, out_h), tile_w = min(MINICNN_TILE, out_w);  // = blockDim.y, .x
    const int patch_h = input_extent(tile_h, kh, sh, dh), patch_w = input_extent(tile_w, kw, sw, dw);
    T* patch = shared_tiles<T>();           // row-major (patch_h, patch_w)
    T* taps = patch + patch_h * patch_w;    // row-major (KH, KW)

    const int n = blockIdx.x / out_channels, o = blockIdx.x % out_channels;
    const int first_channel = (o / (out_channels / groups)) * group_channels;
    const int ty = threadIdx.y, tx = threadIdx.x;
    const int p0 = blockIdx.y * tile_h, q0 = blockIdx.z * tile_w;  // the tile's first output row / column
    const int p = p0 + ty, q = q0 + tx;
    const int row0 = p0 * sh - top;  // input row of patch row 0 (int arithmetic: it may be < 0)
    const int col0 = q0 * sw - left;
    const int thread = ty * tile_w + tx, threads = tile_h * tile_w;

    T total = 0;
    for (int c = 0; c < group_channels; ++c) {
        // (n, first_channel + c) plane of x, and the (o, c) weights.
        const T* image = x + ((long long)n * channels + first_channel + c) * height * width;
        const T* weights = w + ((long long)o * group_channels + c) * kh * kw;
        // The block's threads load the patch together: element e by thread e mod threads.
        for (int e = thread; e < patch_h * patch_w; e += threads) {
            const int row = row0 + e / patch_w, col = col0 + e % patch_w;
            const bool inside = 0 <= row && row < height && 0 <= col && col < width;
            patch[e] = inside ? image[row * width + col] : T(0);
        }
        for (int e = thread; e < kh * kw; e += threads) taps[e] = weights[e];
        __syncthreads();  // the tiles are complete before anyone reads them
        if (p < out_h && q < out_w) {
            for (int i = 0; i < kh; ++i)
                for (int j = 0; j < kw; ++j)
                    total += taps[i * kw + j] * patch[(ty * sh + i * dh) * patch_w + tx * sw + j * dw];
        }
        __syncthreads();  // everyone is done reading before the next channel overwrites them
    }
    if (p < out_h && q < out_w)
        y[(((long long)n * out_channels + o) * out_h + p) * out_w + q] = total;
}

// Gradient of the input: one thread per input pixel, gathering (no two threads write the same
// pixel, so no atomics). Input row h is read by output row p through tap i exactly when
// p*SH + i*DH - top == h, i.e. when reach = h + top - i*DH is >= 0 and divisible by SH, and then
// p = reach / SH < OH (output_reading). The tiles cover the input. The output rows that reach the
// tile's input rows h0 … h0 + tile_h - 1 are
// p_first = floor((h0 + top - (KH-1)*DH) / SH) … floor((h0 + tile_h - 1 + top) / SH); for each
// output channel o of the group, that grad_y patch (zero outside the output) and w[o, c] are
// staged in shared memory. However the tile is aligned with the stride, the patch spans at most
// patch_h = (tile_h - 1 + (KH-1)*DH) / SH + 2 rows, which is what the host reserves.
//
// kernel  conv2d_grad_input
// grid    (N*C, ceil(H / tile_h), ceil(W / tile_w)), tile_h = min(MINICNN_TILE, H), tile_w = min(MINICNN_TILE, W)
// block   (tile_w, tile_h, 1)
// shared  patch_h*patch_w + KH*KW elements of T, patch_h = (tile_h - 1 + (KH-1)*DH) / SH + 2, patch_w alike
// args    grad_y, w, grad_x, channels, height, width, out_channels, group_channels, kh, kw, out_h, out_w,
//         sh, sw, top, left, dh, dw, groups
template <typename T>
__global__ void __launch_bounds__(MINICNN_TILE * MINICNN_TILE)
conv2d_grad_input(const T* grad_y, const T* w, T* grad_x,
                  int channels, int height, int width, int out_channels, int group_channels,
                  int kh, int kw, int out_h, int out_w,
                  int sh, int sw, int top, int left, int dh, int dw, int groups) {
    const int tile_h = min(MINICNN_TILE, height), tile_w = min(MINICNN_TILE, width);  // = blockDim.y, .x
    const int n = blockIdx.x / channels, channel = blockIdx.x % channels;
    const int g = channel / group_channels, c = channel % group_channels;  // group, channel within it
    const int per_group = out_channels / groups;
    const int ty = threadIdx.y, tx = threadIdx.x;
    const int h0 = blockIdx.y * tile_h, v0 = blockIdx.z * tile_w;  // first input row / column
    const int h = h0 + ty, v = v0 + tx;
    const int p_first = floor_div(h0 + top - (kh - 1) * dh, sh);  // the numerator may be < 0
    const int q_first = floor_div(v0 + left - (kw - 1) * dw, sw);
    const int patch_h = floor_div(h0 + tile_h - 1 + top, sh) - p_first + 1;
    const int patch_w = floor_div(v0 + tile_w - 1 + left, sw) - q_first + 1;
    T* patch = shared_tiles<T>();
    T* taps = patch + patch_h * patch_w;
    const int thread = ty * tile_w + tx, threads = tile_h * tile_w;

    T total = 0;
    for (int o = g * per_group; o < (g + 1) * per_group; ++o) {
        const T* grad_out = grad_y + ((long long)n * out_channels + o) * out_h * out_w;
        const T* weights = w + ((long long)o * group_channels + c) * kh * kw;
        for (int e = thread; e < patch_h * patch_w; e += threads) {
            const int p = p_first + e / patch_w, q = q_first + e % patch_w;
            const bool inside = 0 <= p && p < out_h && 0 <= q && q < out_w;
            patch[e] = inside ? grad_out[p * out_w + q] : T(0);
        }
        for (int e = thread; e < kh * kw; e += threads) taps[e] = weights[e];
        __syncthreads();
        if (h < height && v < width) {
            for (int i = 0; i < kh; ++i) {
                const int p = output_reading(h, i, dh, sh, top, out_h);  // the output row reading h through tap i
                if (p < 0) continue;
                for (int j = 0; j < kw; ++j) {
                    const int q = output_reading(v, j, dw, sw, left, out_w);
                    if (q >= 0) total += taps[i * kw + j] * patch[(p - p_first) * patch_w + q - q_first];
                }
            }
        }
        __syncthreads();
    }
    if (h < height && v < width)
        grad_x[(((long long)n * channels + channel) * height + h) * width + v] = total;
}

// Gradient of the weight: grad_w (C_out, Cg, KH, KW) += the contribution of samples
// z, z + gridDim.z, … (z = blockIdx.z: a batch over the grid's limit folds onto its z blocks), with
// grad_w zeroed beforehand:
//     grad_w[o, c, i, j] = sum over n, p, q of
//                          grad_y[n, o, p, q] * x[n, g*Cg + c, p*SH + i*DH - top, q*SW + j*DW - left].
// A block is taps_per_block taps times `replicas` threads: thread t works on tap
// blockIdx.y*taps_per_block + t % taps_per_block and on the pixels replica, replica + replicas, …
// of each tile (replica = t / taps_per_block). For each of its samples n the block walks the
// output plane (n, o) tile by tile, staging the grad_y tile and the input patch under it as in
// the forward; at the end the replicas' partial sums are added in shared memory and one atomicAdd
// per tap merges the blocks.
//
// kernel  conv2d_grad_weight
// grid    (C_out*Cg, ceil(KH*KW / taps_per_block), min(N, 65535)), taps_per_block = min(KH*KW, threads)
// block   (threads, 1, 1), threads = min(MINICNN_WEIGHT_THREADS, KH*KW*tile_h*tile_w), tiles as in the forward
// shared  tile_h*tile_w + patch_h*patch_w + threads elements of T, patch_h and patch_w as in the forward
// args    grad_y, x, grad_w, channels, height, width, out_channels, group_channels, kh, kw, out_h, out_w,
//         sh, sw, top, left, dh, dw, groups, batch
template <typename T>
__global__ void __launch_bounds__(MINICNN_WEIGHT_THREADS)
conv2d_grad_weight(const T* grad_y, const T* x, T* grad_w,
                   int channels, int height, int width, int out_channels, int group_channels,
                   int kh, int kw, int out_h, int out_w,
                   int sh, int sw, int top, int left, int dh, int dw, int groups, int batch) {
    const int tile_h = min(MINICNN_TILE, out_h), tile_w = min(MINICNN_TILE, out_w);
    const int threads = min(MINICNN_WEIGHT_THREADS, kh * kw * tile_h * tile_w);  // = blockDim.x
    const int taps_per_block = min(kh * kw, threads);
    const int replicas = threads / taps_per_block;
    const int t = threadIdx.x;
    const int o = blockIdx.x / group_channels, c = blockIdx.x % group_channels;
    const int channel = (o / (out_channels / groups)) * group_channels + c;
    const int tap = blockIdx.y * taps_per_block + t % taps_per_block;
    const int replica = t / taps_per_block;
    const bool active = replica < replicas && tap < kh * kw;  // leftover threads only help loading
    const int i = tap / kw, j = tap % kw;
    const int patch_h = input_extent(tile_h, kh, sh, dh), patch_w = input_extent(tile_w, kw, sw, dw);
    T* grad_tile = shared_tiles<T>();
    T* patch = grad_tile + tile_h * tile_w;
    T* partial = patch + patch_h * patch_w;

    T total = 0;
    for (int n = blockIdx.z; n < batch; n += gridDim.z) {
        const T* grad_out = grad_y + ((long long)n * out_channels + o) * out_h * out_w;
        const T* image = x + ((long long)n * channels + channel) * height * width;
        for (int p0 = 0; p0 < out_h; p0 += tile_h) {
            for (int q0 = 0; q0 < out_w; q0 += tile_w) {
                for (int e = t; e < tile_h * tile_w; e += threads) {
                    const int p = p0 + e / tile_w, q = q0 + e % tile_w;
                    grad_tile[e] = (p < out_h && q < out_w) ? grad_out[p * out_w + q] : T(0);
                }
                const int row0 = p0 * sh - top, col0 = q0 * sw - left;
                for (int e = t; e < patch_h * patch_w; e += threads) {
                    const int row = row0 + e / patch_w, col = col0 + e % patch_w;
                    const bool inside = 0 <= row && row < height && 0 <= col && col < width;
                    patch[e] = inside ? image[row * width + col] : T(0);
                }
                __syncthreads();
                if (active) {
                    for (int e = replica; e < tile_h * tile_w; e += replicas) {
                        const int tp = e / tile_w, tq = e % tile_w;  // the pixel's place in the tile
                        total += grad_tile[e] * patch[(tp * sh + i * dh) * patch_w + tq * sw + j * dw];
                    }
                }
                __syncthreads();
            }
        }
    }
    partial[t] = total;
    __syncthreads();
    if (active && replica == 0) {
        T tap_total = 0;
        for (int r = 0; r < replicas; ++r) tap_total += partial[r * taps_per_block + t];
        atomicAdd(grad_w + ((long long)o * group_channels + c) * kh * kw + tap, tap_total);
    }
}

// nvcc builds both precisions from this file (the compile test does); CuPy asks NVRTC for
// "conv2d_forward<float>" etc. by name, which instantiates them there.
#define MINICNN_CONV_SIZES int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int
#define MINICNN_INSTANTIATE(T)                                                                     \
    template __global__ void conv2d_forward<T>(const T*, const T*, T*, MINICNN_CONV_SIZES);         \
    template __global__ void conv2d_grad_input<T>(const T*, const T*, T*, MINICNN_CONV_SIZES);      \
    template __global__ void conv2d_grad_weight<T>(const T*, const T*, T*, MINICNN_CONV_SIZES, int);
MINICNN_INSTANTIATE(float)
MINICNN_INSTANTIATE(double)
