"""Each backend's own implementations, above the reference code they specialise.

The references (:mod:`minicnn.functional`) are the textbook algorithms, written once against
``xp``; a backend's package here registers faster ones for some (op, algorithm) pairs in the
one registry (:mod:`minicnn.backends.registry`), which imports the package the first time an op
runs on that backend. Every implementation here is tested against its reference.

============  ==============================================================================
package       what it registers
============  ==============================================================================
numpy         tuned NumPy code: conv2d "im2col" and "winograd"
numba         ``@njit(parallel=True)`` kernels: conv2d "direct" and "im2col", max/avg pooling;
              conv2d "winograd" by the tuned NumPy code
cupy          CUDA C from ``kernels/*.cu`` (NVRTC) and cuBLAS: conv2d "im2col" and "direct", pooling
numba_cuda    ``numba.cuda.jit`` twins of the CUDA C kernels: conv2d "direct", pooling
gpu           (no registrations) the host side the two GPU backends share: launch shapes, arguments
============  ==============================================================================
"""
