"""conv2d's algorithms: its names in the one registry, and the process-wide default.

An algorithm is anything with the two functions below (a module is fine), working on raw
batched arrays with a validated :class:`~minicnn.geometry.ConvGeometry`; bias is not its
business. Adding one is a module and a single ``register_algorithm`` call. An algorithm that
computes only some geometries (winograd: 3x3 kernels at stride 1) also has a
``supports(geom) -> bool``; one without it computes every geometry (im2col, direct, fft).
An algorithm whose backward can reuse something its forward computed (the tuned im2col: the
column matrix) also has ``forward_saving(x, w, geom) -> (y, saved)``; conv2d calls it instead
of ``forward`` when a weight gradient will be needed, and passes a ``saved`` that is not None
back as ``backward(..., saved=saved)``.

Which implementation of a name runs is the registry's one rule
(:func:`minicnn.backends.registry.lookup`): the selected backend's own, else the reference
registered here by :mod:`minicnn.functional.conv`.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Protocol

from ...backends import registry
from ...geometry import ConvGeometry

OP = "conv2d"


class ConvAlgorithm(Protocol):
    def forward(self, x: Any, w: Any, geom: ConvGeometry) -> Any:
        """x (N, C, H, W), w (C_out, C/groups, KH, KW) -> y (N, C_out, OH, OW), no bias."""

    def backward(
        self, grad_y: Any, x: Any, w: Any, geom: ConvGeometry, need_input: bool, need_weight: bool
    ) -> tuple[Any, Any]:
        """grad_y (N, C_out, OH, OW) -> (grad_x or None, grad_w or None)."""


_default_algorithm = "im2col"


def register_algorithm(name: str, algorithm: ConvAlgorithm, backend: str | None = None) -> None:
    """Make ``algorithm`` selectable as ``conv2d(..., algorithm=name)``: the reference of ``name``,
    or with ``backend`` that backend's own implementation of it."""
    registry.register(OP, name, algorithm, backend)


def available_algorithms() -> tuple[str, ...]:
    return registry.algorithms(OP)


def algorithm_supports(algorithm: ConvAlgorithm, geom: ConvGeometry) -> bool:
    """Whether ``algorithm`` can compute ``geom``: its own ``supports(geom)``, else True."""
    supports = getattr(algorithm, "supports", None)
    return True if supports is None else bool(supports(geom))


def applicable_algorithms(geom: ConvGeometry, backend: str | None = None) -> tuple[str, ...]:
    """Names of the algorithms whose implementation for ``backend`` can compute ``geom``, in registration order."""
    return tuple(name for name in available_algorithms() if algorithm_supports(get_algorithm(name, backend), geom))


def _check_known(name: str) -> None:
    if not registry.has_reference(OP, name):  # conv2d calls this every time: no list built
        raise ValueError(
            f"conv2d: unknown algorithm {name!r}; choose one of {', '.join(available_algorithms())}"
        )


def get_algorithm(name: str | None = None, backend: str | None = None) -> ConvAlgorithm:
    """The implementation of ``name`` (None: the process default) for ``backend`` (None: the reference)."""
    name = _default_algorithm if name is None else name
    _check_known(name)
    return registry.lookup(OP, name, backend)


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
