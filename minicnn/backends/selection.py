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
kernel — makes each wait for the other's idle threads (DESIGN.md, Performance, trap 4). So
while "numba" is the process default (:func:`set_backend`, :func:`use_backend`, or
MINICNN_BACKEND=numba at the first op), NumPy's BLAS runs single-threaded, through threadpoolctl
(a dependency of minicnn), and the original thread count comes back when another backend
becomes the default. Where the BLAS threads cannot be limited (threadpoolctl missing from the
environment, or a BLAS it does not know) a RuntimeWarning says so once, naming the fix, rather
than letting the run go slow without a word. Nothing is limited at import, nor by a per-call
``backend="numba"``: only the user's choice of a process default changes process-wide threads.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Iterator, NamedTuple

from . import registry
from .arrays import device_of
from .availability import BACKEND_NAMES, backend_devices, environment_backend, probe

REFERENCE_BACKEND = {"cpu": "numpy", "cuda": "cupy"}

_default_backend: str | None = None  # None: not chosen yet, MINICNN_BACKEND decides on first use

SINGLE_THREADED_BLAS = {"numba"}  # defaults under which NumPy's BLAS runs on one thread (see above)
_blas_limit = None  # threadpoolctl's record of the limit in force, to restore the original count
_warned_unlimited = False  # the warning that the pools could not be separated is given once

UNLIMITED_FIX = ("install threadpoolctl (pip install threadpoolctl), or start Python with "
                 "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1")


def _warn_unlimited(backend: str, why: str) -> None:
    global _warned_unlimited
    if not _warned_unlimited:
        _warned_unlimited = True
        warnings.warn(f"backend {backend!r}: NumPy's BLAS threads cannot be limited ({why}), so its "
                      f"thread pool and Numba's will compete for the cores and run several times "
                      f"slower; to fix it, {UNLIMITED_FIX}", RuntimeWarning, stacklevel=5)


def _limit_blas_threads(backend: str):
    """threadpoolctl's limit of NumPy's BLAS to one thread, or None (warned) where it cannot be set."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        _warn_unlimited(backend, "threadpoolctl is not installed")
        return None
    limit = threadpool_limits(limits=1, user_api="blas")
    if not limit.get_original_num_threads().get("blas"):  # no BLAS library that threadpoolctl controls
        _warn_unlimited(backend, "threadpoolctl finds no BLAS library it can control")
    return limit


def _share_cores(backend: str) -> None:
    """Limit NumPy's BLAS to one thread if ``backend`` wants it, else restore what it was."""
    global _blas_limit
    if backend in SINGLE_THREADED_BLAS and _blas_limit is None:
        _blas_limit = _limit_blas_threads(backend)
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
