"""Backends: where arrays live and which kernels run on them.

A backend supplies the array module (``xp``: NumPy or CuPy) and the kernels it specialises.
The ops in :mod:`minicnn.functional` are written once against ``xp`` and call a backend's
kernel where one exists (:func:`find_kernel`; conv2d looks up (algorithm, backend) in its own
registry). The four backends:

============  ========  ==========================================================================
name          arrays    kernels
============  ========  ==========================================================================
numpy         NumPy     none: the generic xp code is the reference
numba         NumPy     ``@njit(parallel=True)`` direct conv, im2col/col2im, max/avg pooling
cupy          CuPy      CUDA C from ``kernels/*.cu`` (im2col/col2im, tiled direct conv, pooling);
                        GEMMs through cuBLAS (``cupy.matmul``)
numba_cuda    CuPy      ``numba.cuda.jit`` tiled direct conv and pooling; under Numba's simulator
                        (NUMBA_ENABLE_CUDASIM=1) on NumPy arrays, with no GPU at all
============  ========  ==========================================================================

Choose per call (``conv2d(..., backend="numba")``), per process (:func:`set_backend`,
``with use_backend(...)``) or with the environment variable MINICNN_BACKEND; the rules are in
:mod:`.selection`. :func:`available` says which backends work here and why the others do not.
"""
from .arrays import array_module, device_of
from .availability import BACKEND_NAMES, environment_backend
from .kernels import find_kernel, load_backend, register_kernel
from .selection import available, get_backend, select_backend, set_backend, use_backend

__all__ = [
    "BACKEND_NAMES", "array_module", "available", "device_of", "environment_backend", "find_kernel", "get_backend",
    "load_backend", "register_kernel", "select_backend", "set_backend", "use_backend",
]
