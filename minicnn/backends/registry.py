"""The one registry: which implementation computes an op, keyed by (op, algorithm, backend).

Every op that has more than one implementation — conv2d's algorithms, the pools, anything
later — is looked up here by the same rule:

    lookup(op, algorithm, backend)  =  the implementation ``backend`` registered for
                                       (op, algorithm), else the reference one.

The references are the textbook modules of :mod:`minicnn.functional`, written once against
``xp`` so that they compute on every backend; they register with ``backend=None``. A backend's
own implementations (its tuned NumPy code, its Numba or CUDA kernels) live in
:mod:`minicnn.tuned` and register under the backend's name. A backend's package is imported on
the first lookup that names the backend, so ``import minicnn`` never compiles anything, never
imports Numba or CuPy, and the reference code never imports the tuned code above it.

What an implementation is depends on the op (conv2d: :class:`minicnn.functional.conv.ConvAlgorithm`;
the pools: ``forward``/``backward`` over a :class:`~minicnn.geometry.SlidingWindows`); the
registry only stores and finds them.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any, Iterator, NamedTuple

# The package holding each backend's own implementations, imported on first lookup.
BACKEND_PACKAGES = {
    "numpy": "minicnn.tuned.numpy",
    "numba": "minicnn.tuned.numba",
    "cupy": "minicnn.tuned.cupy",
    "numba_cuda": "minicnn.tuned.numba_cuda",
}


class Entry(NamedTuple):
    """One registration: ``backend`` None for the reference implementation."""

    op: str
    algorithm: str
    backend: str | None


_IMPLEMENTATIONS: dict[Entry, Any] = {}
_LOADED: dict[Entry, Any] = {}  # what importing the backend packages registered (see snapshot)
_loading = False


def register(op: str, algorithm: str, implementation: Any, backend: str | None = None) -> None:
    """Make ``implementation`` compute (op, algorithm) on ``backend`` (None: the reference, everywhere).

    A backend's package registers its own implementations when it is first imported; one that
    a program registered for that backend before then is kept, not overwritten.
    """
    entry = Entry(op, algorithm, backend)
    if _loading:
        _LOADED[entry] = implementation
        if entry in _IMPLEMENTATIONS:  # registered before its backend loaded: that choice stands
            return
    _IMPLEMENTATIONS[entry] = implementation


def unregister(op: str, algorithm: str, backend: str | None = None) -> None:
    """Forget one registration (KeyError if there is none)."""
    del _IMPLEMENTATIONS[Entry(op, algorithm, backend)]


def load_backend(backend: str) -> None:
    """Import ``backend``'s package so that its implementations are registered (once)."""
    global _loading
    package = BACKEND_PACKAGES.get(backend)
    # Every conv2d and pooling call looks up its implementation: once imported, return at once.
    if package is not None and package not in sys.modules:
        _loading, was_loading = True, _loading
        try:
            importlib.import_module(package)
        finally:
            _loading = was_loading


@contextlib.contextmanager
def snapshot() -> Iterator[None]:
    """Undo, on leaving the block, every register/unregister made in it (for tests and experiments).

    What a backend package registered when it was first imported inside the block is kept: the
    module stays imported, so it could not register again.
    """
    saved = dict(_IMPLEMENTATIONS)
    try:
        yield
    finally:
        _IMPLEMENTATIONS.clear()
        _IMPLEMENTATIONS.update({**_LOADED, **saved})


def has_reference(op: str, algorithm: str) -> bool:
    """Whether (op, algorithm) has a reference implementation: one dict lookup, for every op call."""
    return Entry(op, algorithm, None) in _IMPLEMENTATIONS


def algorithms(op: str) -> tuple[str, ...]:
    """The algorithms of ``op`` that have a reference implementation, in registration order."""
    return tuple(entry.algorithm for entry in _IMPLEMENTATIONS if entry.op == op and entry.backend is None)


def reference(op: str, algorithm: str) -> Any:
    """The reference implementation of (op, algorithm); KeyError if there is none."""
    return _IMPLEMENTATIONS[Entry(op, algorithm, None)]


def own(op: str, algorithm: str, backend: str) -> Any | None:
    """``backend``'s own implementation of (op, algorithm), or None (loads the backend)."""
    load_backend(backend)
    return _IMPLEMENTATIONS.get(Entry(op, algorithm, backend))


def lookup(op: str, algorithm: str, backend: str | None) -> Any:
    """What computes (op, algorithm) on ``backend``: its own implementation, else the reference."""
    if backend is not None:
        implementation = own(op, algorithm, backend)
        if implementation is not None:
            return implementation
    return reference(op, algorithm)


def entries(backend: str | None = None) -> tuple[Entry, ...]:
    """Every registration, or only ``backend``'s own (loading it first)."""
    if backend is not None:
        load_backend(backend)
    return tuple(entry for entry in _IMPLEMENTATIONS if backend is None or entry.backend == backend)


def own_algorithms(op: str, backend: str) -> tuple[str, ...]:
    """The algorithms of ``op`` that ``backend`` computes with its own implementations."""
    return tuple(entry.algorithm for entry in entries(backend) if entry.op == op)
