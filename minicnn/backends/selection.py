"""Choosing the backend of an op: per call, per process, or from MINICNN_BACKEND.

The rules, in order:

1. ``conv2d(..., backend="numba")`` — an explicit choice for one call. It must be usable
   here and compute on the input's device, otherwise the call fails with the reason.
2. The process default, :func:`set_backend` / ``with use_backend(...)``, initialised from the
   environment variable MINICNN_BACKEND (``numpy`` when unset). It is a preference: an
   array on a device that backend does not compute on goes to that device's reference
   backend — NumPy for "cpu" arrays, CuPy for "cuda" arrays — so that, say, the CPU-side
   metrics of a GPU training run still work.

A MINICNN_BACKEND that names an unknown or unusable backend is reported at the first op that
needs it, never at import.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from .arrays import device_of
from .availability import BACKEND_NAMES, backend_devices, environment_backend, probe

REFERENCE_BACKEND = {"cpu": "numpy", "cuda": "cupy"}

_default_backend: str | None = None  # None: not chosen yet, MINICNN_BACKEND decides on first use


def available() -> dict[str, tuple[bool, str]]:
    """For each backend name: (usable here, what it runs on — or why it cannot run here)."""
    return {name: probe(name) for name in BACKEND_NAMES}


def _check_usable(name: str, where: str) -> None:
    """``where`` says who asked for ``name``, for the error messages."""
    if name not in BACKEND_NAMES:
        raise ValueError(f"{where}: unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    usable, why = probe(name)
    if not usable:
        raise RuntimeError(f"{where}: backend {name!r} is not available here: {why}")


def get_backend() -> str:
    """The process-wide default backend (MINICNN_BACKEND, else "numpy", until set otherwise)."""
    global _default_backend
    if _default_backend is None:
        name = environment_backend() or "numpy"
        _check_usable(name, f"MINICNN_BACKEND={name}")
        _default_backend = name
    return _default_backend


def set_backend(name: str) -> None:
    """Make ``name`` the default backend of every op that does not pass ``backend=``."""
    global _default_backend
    _check_usable(name, "set_backend")
    _default_backend = name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """``with use_backend("numba"): ...`` — the default inside the block, restored after it."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def select_backend(op: str, array, requested: str | None = None) -> str:
    """The backend that computes ``op`` on ``array``: ``requested``, else the default (see module doc)."""
    device = device_of(array)
    if requested is None:
        name = get_backend()
        return name if device in backend_devices(name) else REFERENCE_BACKEND[device]
    _check_usable(requested, op)
    devices = backend_devices(requested)
    if device not in devices:
        raise RuntimeError(
            f"{op}: backend {requested!r} computes on {' or '.join(devices)} tensors, but the input "
            f"is on {device}; move the tensors with .to({devices[0]!r}) or pick another backend"
        )
    return requested
