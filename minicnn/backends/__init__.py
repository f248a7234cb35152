"""Backends: where arrays live and which kernels run on them.

A backend supplies the array module (``xp``: NumPy or CuPy) and, optionally, specialised
kernels. The ops in :mod:`minicnn.functional` are written once against ``xp`` and call a
backend kernel where one exists. Only ``numpy`` is built in; the others register
themselves when their packages import.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

import numpy

BACKEND_NAMES = ("numpy", "numba", "cupy", "numba_cuda")

_default_backend = os.environ.get("MINICNN_BACKEND", "numpy")


def array_module(array):
    """NumPy for NumPy arrays, CuPy for CuPy arrays — without importing CuPy needlessly."""
    if isinstance(array, numpy.ndarray) or numpy.isscalar(array):
        return numpy
    import cupy  # only reached for arrays that are not NumPy's, i.e. CuPy's

    return cupy


def device_of(array) -> str:
    return "cpu" if isinstance(array, (numpy.ndarray, numpy.generic)) else "cuda"


def available() -> dict[str, tuple[bool, str]]:
    """For each backend name: (usable here, why not / what it runs on)."""
    result = {"numpy": (True, f"NumPy {numpy.__version__}")}
    for name in BACKEND_NAMES[1:]:
        result[name] = (False, "not implemented yet in this version")
    return result


def get_backend() -> str:
    return _default_backend


def set_backend(name: str) -> None:
    global _default_backend
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    usable, why = available()[name]
    if not usable:
        raise RuntimeError(f"backend {name!r} is not available here: {why}")
    _default_backend = name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    previous = _default_backend
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)
