"""Which algorithm computes conv2d: a registry of names, and the process-wide default.

An algorithm is anything with the two functions below (a module is fine), working on raw
batched arrays with a validated :class:`~.geometry.ConvGeometry`; bias is not its business.
Adding one (fft, winograd, a Numba or CuPy kernel) is a single ``register_algorithm`` call.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Protocol

from .geometry import ConvGeometry


class ConvAlgorithm(Protocol):
    def forward(self, x: Any, w: Any, geom: ConvGeometry) -> Any:
        """x (N, C, H, W), w (C_out, C/groups, KH, KW) -> y (N, C_out, OH, OW), no bias."""

    def backward(
        self, grad_y: Any, x: Any, w: Any, geom: ConvGeometry, need_input: bool, need_weight: bool
    ) -> tuple[Any, Any]:
        """grad_y (N, C_out, OH, OW) -> (grad_x or None, grad_w or None)."""


_ALGORITHMS: dict[str, ConvAlgorithm] = {}
_default_algorithm = "im2col"


def register_algorithm(name: str, algorithm: ConvAlgorithm) -> None:
    """Make ``algorithm`` selectable as ``conv2d(..., algorithm=name)``."""
    _ALGORITHMS[name] = algorithm


def available_algorithms() -> tuple[str, ...]:
    return tuple(_ALGORITHMS)


def _check_known(name: str) -> None:
    if name not in _ALGORITHMS:
        raise ValueError(
            f"conv2d: unknown algorithm {name!r}; choose one of {', '.join(available_algorithms())}"
        )


def get_algorithm(name: str | None = None) -> ConvAlgorithm:
    """The implementation registered as ``name``; the process default when ``name`` is None."""
    name = _default_algorithm if name is None else name
    _check_known(name)
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
