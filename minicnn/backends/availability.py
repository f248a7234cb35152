"""Is each backend usable here, and on which device do its kernels compute?

Every probe answers (usable, reason) and never raises: a missing package, a CUDA wheel
without a driver, a machine without a GPU are all ordinary answers, so ``import minicnn``
and :func:`minicnn.backends.available` work everywhere. Probing imports the backend's
package (numba, cupy) but not minicnn's kernels for it.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import sys

import numpy

def _numba_version() -> tuple[str | None, str]:
    """(numba's version, "") if numba imports, else (None, why not)."""
    try:
        import numba
    except Exception as exc:  # ImportError, or a numba built for another NumPy
        why = f"{exc.__class__.__name__}: {exc}"
        return None, f"numba is not installed or failed to import ({why}); pip install 'minicnn[numba]'"
    return numba.__version__, ""


def numba_cuda_simulated() -> bool:
    """Whether ``numba.cuda`` is (or, once imported, will be) Numba's CUDA simulator.

    numba.cuda chooses between the simulator and the real driver once, when it is first
    imported, from NUMBA_ENABLE_CUDASIM. Before that the variable may still change (a test
    module sets it after numba itself was imported), so numba's configuration is re-read.
    """
    if "numba.cuda" in sys.modules:
        return "numba.cuda.simulator_init" in sys.modules
    from numba.core import config

    config.reload_config()
    return bool(config.ENABLE_CUDASIM)


def _probe_numpy() -> tuple[bool, str]:
    return True, f"NumPy {numpy.__version__} on the CPU"


def _probe_numba() -> tuple[bool, str]:
    version, why_not = _numba_version()
    if version is None:
        return False, why_not
    from numba import config

    return True, f"Numba {version} JIT on the CPU, {config.NUMBA_NUM_THREADS} threads"


def _probe_cupy() -> tuple[bool, str]:
    from .. import cuda

    if not cuda.is_available():
        return False, cuda.why_unavailable()
    import cupy

    return True, f"CuPy {cupy.__version__} on {cuda.device_count()} GPU(s)"


def _probe_numba_cuda() -> tuple[bool, str]:
    version, why_not = _numba_version()
    if version is None:
        return False, why_not
    if importlib.util.find_spec("numba.cuda") is None:
        return False, f"this numba ({version}) has no numba.cuda; pip install 'minicnn[numba-cuda]'"
    if numba_cuda_simulated():
        return True, f"Numba {version} CUDA simulator (NUMBA_ENABLE_CUDASIM=1): CPU NumPy arrays, slowly"
    usable, why = _probe_cupy()  # tensors on "cuda" hold CuPy arrays, so CuPy comes first
    if not usable:
        return False, f"{why}; set NUMBA_ENABLE_CUDASIM=1 to run its kernels in Numba's CUDA simulator"
    return _probe_numba_cuda_gpu(version)


@functools.lru_cache(maxsize=None)
def _probe_numba_cuda_gpu(version: str) -> tuple[bool, str]:
    """numba.cuda on a real GPU (once imported in that mode it stays so: the answer is cached)."""
    try:
        from numba import cuda

        if not cuda.is_available():
            return False, f"numba.cuda finds no usable GPU: {cuda.cuda_error()}"
        name = cuda.get_current_device().name
    except Exception as exc:  # a numba.cuda that cannot load NVVM or the driver
        return False, f"numba.cuda failed to initialise ({exc.__class__.__name__}: {exc})"
    name = name.decode() if isinstance(name, bytes) else name
    return True, f"Numba {version} CUDA on {name} (CuPy arrays)"


_PROBES = {
    "numpy": _probe_numpy,
    "numba": _probe_numba,
    "cupy": _probe_cupy,
    "numba_cuda": _probe_numba_cuda,
}

BACKEND_NAMES = tuple(_PROBES)


def probe(name: str) -> tuple[bool, str]:
    """(usable here, what it runs on or why not) for one backend name."""
    return _PROBES[name]()


def backend_devices(name: str) -> tuple[str, ...]:
    """The devices whose arrays the backend computes on: "cpu" (NumPy) and/or "cuda" (CuPy)."""
    if name in ("numpy", "numba"):
        return ("cpu",)
    if name == "numba_cuda" and _numba_version()[0] is not None and numba_cuda_simulated():
        return ("cpu",)  # the simulator runs kernels on host arrays
    return ("cuda",)


def environment_backend() -> str | None:
    """The backend named by MINICNN_BACKEND, or None when the variable is unset or empty."""
    return os.environ.get("MINICNN_BACKEND") or None
