"""Which algorithm computes conv2d: a registry of names, and the process-wide default.

An algorithm is anything with the two functions below (a module is fine), working on raw
batched arrays with a validated :class:`~.geometry.ConvGeometry`; bias is not its business.
Adding one (fft, winograd, a Numba or CuPy kernel) is a single ``register_algorithm`` call.
An algorithm that computes only some geometries (winograd: 3x3 kernels at stride 1) also has a
``supports(geom) -> bool``; one without it computes every geometry (im2col, direct, fft).
An algorithm whose backward can reuse something its forward computed (im2col: the column
matrix) also has ``forward_saving(x, w, geom) -> (y, saved)``; conv2d calls it instead of
``forward`` when a weight gradient will be needed, and passes a ``saved`` that is not None
back as ``backward(..., saved=saved)``.

Backends: the algorithm registered under a plain name is the generic one, written against
``xp``, that computes on every backend. A backend may specialise a name with its own kernels,
``register_algorithm("direct", numba_direct, backend="numba")``; :func:`get_algorithm` then
returns the specialisation for that backend and the generic implementation everywhere else.
Backends register their specialisations when first loaded (:func:`minicnn.backends.load_backend`).
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Protocol

from ...backends import load_backend
from .geometry import ConvGeometry


class ConvAlgorithm(Protocol):
    def forward(self, x: Any, w: Any, geom: ConvGeometry) -> Any:
        """x (N, C, H, W), w (C_out, C/groups, KH, KW) -> y (N, C_out, OH, OW), no bias."""

    def backward(
        self, grad_y: Any, x: Any, w: Any, geom: ConvGeometry, need_input: bool, need_weight: bool
    ) -> tuple[Any, Any]:
        """grad_y (N, C_out, OH, OW) -> (grad_x or None, grad_w or None)."""


_ALGORITHMS: dict[str, ConvAlgorithm] = {}  # the generic implementations, by name
_SPECIALISED: dict[tuple[str, str], ConvAlgorithm] = {}  # (name, backend) -> that backend's own
_default_algorithm = "im2col"


def register_algorithm(name: str, algorithm: ConvAlgorithm, backend: str | None = None) -> None:
    """Make ``algorithm`` selectable as ``conv2d(..., algorithm=name)``.

    With ``backend``, it specialises the generic algorithm ``name`` for that backend only.
    """
    if backend is None:
        _ALGORITHMS[name] = algorithm
    else:
        _SPECIALISED[(name, backend)] = algorithm


def available_algorithms() -> tuple[str, ...]:
    return tuple(_ALGORITHMS)


def specialised_algorithms(backend: str) -> tuple[str, ...]:
    """Names of the algorithms that ``backend`` computes with its own kernels (loads it)."""
    load_backend(backend)
    return tuple(name for name, owner in _SPECIALISED if owner == backend)


def algorithm_supports(algorithm: ConvAlgorithm, geom: ConvGeometry) -> bool:
    """Whether ``algorithm`` can compute ``geom``: its own ``supports(geom)``, else True."""
    supports = getattr(algorithm, "supports", None)
    return True if supports is None else bool(supports(geom))


def applicable_algorithms(geom: ConvGeometry, backend: str | None = None) -> tuple[str, ...]:
    """Names of the algorithms whose implementation for ``backend`` can compute ``geom``, in registration order."""
    return tuple(name for name in _ALGORITHMS if algorithm_supports(get_algorithm(name, backend), geom))


def _check_known(name: str) -> None:
    if name not in _ALGORITHMS:
        raise ValueError(
            f"conv2d: unknown algorithm {name!r}; choose one of {', '.join(available_algorithms())}"
        )


def get_algorithm(name: str | None = None, backend: str | None = None) -> ConvAlgorithm:
    """The implementation of ``name`` (None: the process default) for ``backend``.

    That backend's specialisation where it registered one, else the generic implementation;
    ``backend=None`` asks for the generic one.
    """
    name = _default_algorithm if name is None else name
    _check_known(name)
    if backend is not None:
        load_backend(backend)
        specialised = _SPECIALISED.get((name, backend))
        if specialised is not None:
            return specialised
    return _ALGORITHMS[name]


def get_default_algorithm() -> str:
    return _default_algorithm


def set_default_algorithm(name: str) -> None:
    """Use ``name`` for every conv2d call that does not pass ``algorithm=`` (process-wide)."""
    global _default_algorithm
    _check_known(name)
    _default_algorithm = name


@contextlib.contextmanager
def conv_algorithm(name: str) -> Iterator[None]:
    """``with conv_algorithm("direct"): ...`` — the default inside the block, restored after."""
    previous = _default_algorithm
    set_default_algorithm(name)
    try:
        yield
    finally:
        set_default_algorithm(previous)
