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

Sharing the cores. The numba backend's kernels run on Numba's thread pool, the GEMMs that the
other ops leave to NumPy on OpenBLAS's, and each pool keeps its threads spinning for a while
after its work is done. Alternating the two — a LeNet-5 training step does, kernel, GEMM,
kernel — makes each wait for the other's idle threads: 33 ms per step on the 2-core machine,
against 9 ms with NumPy's BLAS on one thread. So while "numba" is the process default, NumPy's
BLAS runs single-threaded (through threadpoolctl, which the numba extra installs; without it
nothing is limited), and the original thread count comes back when another backend becomes the
default. A per-call ``backend="numba"`` leaves the threads alone.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, NamedTuple

from . import registry
from .arrays import device_of
from .availability import BACKEND_NAMES, backend_devices, environment_backend, probe

REFERENCE_BACKEND = {"cpu": "numpy", "cuda": "cupy"}

_default_backend: str | None = None  # None: not chosen yet, MINICNN_BACKEND decides on first use

SINGLE_THREADED_BLAS = {"numba"}  # defaults under which NumPy's BLAS runs on one thread (see above)
_blas_limit = None  # threadpoolctl's record of the limit in force, to restore the original count


def _share_cores(backend: str) -> None:
    """Limit NumPy's BLAS to one thread if ``backend`` wants it, else restore what it was."""
    global _blas_limit
    if backend in SINGLE_THREADED_BLAS and _blas_limit is None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return
        _blas_limit = threadpool_limits(limits=1, user_api="blas")
    elif backend not in SINGLE_THREADED_BLAS and _blas_limit is not None:
        _blas_limit.restore_original_limits()
        _blas_limit = None


class BackendStatus(NamedTuple):
    """What :func:`available` says of one backend; unpacks as ``usable, reason``."""

    usable: bool
    reason: str  # what it runs on, or why it cannot run here


def available() -> dict[str, BackendStatus]:
    """For each backend name: whether it is usable here, and what it runs on — or why not."""
    return {name: BackendStatus(*probe(name)) for name in BACKEND_NAMES}


def implementations(backend: str) -> tuple[registry.Entry, ...]:
    """The (op, algorithm) pairs a usable ``backend`` computes with its own code, from the registry
    (loading the backend); every other pair runs the reference on its arrays."""
    _check_usable(backend, "implementations")
    return registry.entries(backend)


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
        _share_cores(name)
    return _default_backend


def set_backend(name: str) -> None:
    """Make ``name`` the default backend of every op that does not pass ``backend=``."""
    global _default_backend
    _check_usable(name, "set_backend")
    _default_backend = name
    _share_cores(name)


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
