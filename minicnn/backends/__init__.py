"""Backends: where arrays live, which backends work here, and which implementation runs.

A backend supplies the array module (``xp``: NumPy or CuPy) and its own implementations of some
ops. This package is the bottom of the dispatch: it knows the backends' names and how to choose
one (:mod:`.selection`), whether each works here (:mod:`.availability`), and holds the ONE
registry of implementations keyed by (op, algorithm, backend) (:mod:`.registry`). The
implementations themselves live above the code they specialise: the references in
:mod:`minicnn.functional`, each backend's own in :mod:`minicnn.tuned`.

============  ========  ==========================================================================
name          arrays    its own implementations (:mod:`minicnn.tuned`)
============  ========  ==========================================================================
numpy         NumPy     tuned NumPy conv2d im2col and winograd; the rest are the references
numba         NumPy     ``@njit(parallel=True)`` direct conv, im2col/col2im, max/avg pooling
cupy          CuPy      CUDA C from ``kernels/*.cu`` (im2col/col2im, tiled direct conv, pooling);
                        GEMMs through cuBLAS (``cupy.matmul``)
numba_cuda    CuPy      ``numba.cuda.jit`` tiled direct conv and pooling; under Numba's simulator
                        (NUMBA_ENABLE_CUDASIM=1) on NumPy arrays, with no GPU at all
============  ========  ==========================================================================

Choose per call (``conv2d(..., backend="numba")``, ``max_pool2d(..., backend="numba")``), per
process (:func:`set_backend`, ``with use_backend(...)``) or with the environment variable
MINICNN_BACKEND; the rules are in :mod:`.selection`. :func:`available` says which backends work
here and why the others do not; :func:`implementations` what each computes with its own code.
"""
from . import registry
from .arrays import array_module, device_of
from .availability import BACKEND_NAMES, environment_backend
from .selection import (
    BackendStatus, available, get_backend, implementations, select_backend, set_backend, use_backend,
)

__all__ = [
    "BACKEND_NAMES", "BackendStatus", "array_module", "available", "device_of", "environment_backend",
    "get_backend", "implementations", "registry", "select_backend", "set_backend", "use_backend",
]
