"""Which array library holds an array, and on which device — without importing CuPy needlessly."""
from __future__ import annotations

import numpy


def array_module(array):
    """NumPy for NumPy arrays and scalars, CuPy for CuPy arrays: the ``xp`` that op code calls."""
    if isinstance(array, numpy.ndarray) or numpy.isscalar(array):
        return numpy
    import cupy  # only reached for arrays that are not NumPy's, i.e. CuPy's

    return cupy


def device_of(array) -> str:
    """"cpu" for NumPy arrays and scalars, "cuda" for anything else (CuPy arrays)."""
    return "cpu" if isinstance(array, (numpy.ndarray, numpy.generic)) else "cuda"
