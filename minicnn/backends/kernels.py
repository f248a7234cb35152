"""The kernels each backend specialises, looked up by (op, backend).

An op is written once against ``xp``; where a backend has its own kernel for it, the op calls
that instead. A backend's module registers its kernels when it is imported, and it is
imported on the first lookup that names it, so ``import minicnn`` never compiles or even
imports Numba or CuPy. conv2d has its own registry, keyed by (algorithm, backend)
(:mod:`minicnn.functional.conv.registry`), which loads backends through :func:`load_backend`.

What each op expects of its kernel (x (N, C, H, W); ``windows`` the op's ``SlidingWindows``;
``divisor`` avg_pool2d's 0-d or (OH, OW) array of counts):

- "max_pool2d": ``forward(x, windows) -> (values, int64 indices)`` and
  ``backward(grad, indices, windows) -> grad_x``, with torch's indices and tie rules;
- "avg_pool2d": ``forward(x, windows, divisor) -> y`` and ``backward(grad, windows, divisor) -> grad_x``.
"""
from __future__ import annotations

import importlib
from typing import Any

# The module that implements each backend; "numpy" is the generic xp code itself.
_BACKEND_MODULES = {
    "numba": "minicnn.backends.numba_cpu",
    "cupy": "minicnn.backends.cupy_backend",
    "numba_cuda": "minicnn.backends.numba_cuda",
}

_KERNELS: dict[tuple[str, str], Any] = {}


def load_backend(name: str) -> None:
    """Import the module of backend ``name`` so that its kernels are registered (once)."""
    module = _BACKEND_MODULES.get(name)
    if module is not None:
        importlib.import_module(module)


def register_kernel(op: str, backend: str, kernel: Any) -> None:
    """Make ``kernel`` compute ``op`` (e.g. "max_pool2d") whenever ``backend`` is selected."""
    _KERNELS[(op, backend)] = kernel


def find_kernel(op: str, backend: str) -> Any | None:
    """The kernel ``backend`` registered for ``op``, or None: then the generic xp code runs."""
    load_backend(backend)
    return _KERNELS.get((op, backend))
