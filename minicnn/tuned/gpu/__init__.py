"""Host side of the GPU kernels, shared by the CuPy (CUDA C) and Numba CUDA backends.

- :mod:`.sources` where the CUDA C sources are; the kernels and parameters parsed from them
- :mod:`.launch`  grid, block and shared memory of every kernel
- :mod:`.ops`     the op objects (tiled direct conv, im2col/col2im, pools) over a backend's launcher
"""
