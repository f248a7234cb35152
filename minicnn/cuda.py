"""``minicnn.cuda``: is a CUDA GPU usable here? Never raises at import."""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[bool, str]:
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CuPy wheel that fails to load its libraries
        return False, f"CuPy is not installed or failed to import ({exc.__class__.__name__}: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"no usable CUDA driver or GPU ({exc.__class__.__name__}: {exc})"
    if count < 1:
        return False, "CUDA driver found but no GPU"
    return True, f"{count} GPU(s)"


def is_available() -> bool:
    return _probe()[0]


def why_unavailable() -> str:
    return _probe()[1]


def device_count() -> int:
    if not is_available():
        return 0
    import cupy

    return cupy.cuda.runtime.getDeviceCount()


def require(what: str) -> None:
    ok, why = _probe()
    if not ok:
        raise RuntimeError(f"{what} needs a CUDA GPU, but none is usable here: {why}")


def synchronize() -> None:
    if is_available():
        import cupy

        cupy.cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    """Accepted for torch compatibility; GPU ops draw from the same generator as the CPU."""


manual_seed_all = manual_seed
