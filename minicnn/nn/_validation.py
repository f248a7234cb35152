"""Checks shared by the layers: constructor arguments, and inputs before they reach an op.

Every message starts with the layer (its repr, e.g. ``Conv2d(3, 8, kernel_size=(3, 3),
stride=(1, 1))``) so that in a deep model the failing layer is recognisable, then says
what was expected and what came.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..tensor import Tensor

if TYPE_CHECKING:
    from .module import Module


def pair(value, layer: str, name: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 5)`` stays; anything else is a TypeError naming the argument."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(_is_int(v) for v in items):
        raise TypeError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    return items


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def require_ints(layer: str, minimum: int, **values) -> None:
    """Each value (an int, or a tuple or list of ints) must be an int >= ``minimum``."""
    for name, value in values.items():
        items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        if not all(_is_int(v) and v >= minimum for v in items):
            kind = {0: "non-negative integer", 1: "positive integer"}[minimum]
            raise ValueError(f"{layer}: {name} must be a {kind}, got {value!r}")


def check_is_tensor(layer: "Module", input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{layer!r}: expected a minicnn Tensor as input, got {type(input).__name__}")


def check_ndim(layer: "Module", input: Tensor, allowed: tuple[int, ...]) -> None:
    """Message in torch's words: ``expected 4D input (got 3D input)``."""
    check_is_tensor(layer, input)
    if input.dim() not in allowed:
        expected = " or ".join(f"{n}D" for n in allowed)
        raise ValueError(f"{layer!r}: expected {expected} input (got {input.dim()}D input)")


def check_size(layer: "Module", input: Tensor, dim: int, expected: int, what: str) -> None:
    """``input.shape[dim]`` must be ``expected`` (the layer's channel or feature count)."""
    if input.shape[dim] != expected:
        raise RuntimeError(
            f"{layer!r}: expected input with {expected} {what}, got input of shape "
            f"{tuple(input.shape)}"
        )


def check_matches_parameter(layer: "Module", input: Tensor, param: Tensor | None) -> None:
    """Input and weights must share dtype and device (NumPy would silently upcast instead)."""
    if param is None:
        return
    if input.device != param.device:
        raise RuntimeError(
            f"{layer!r}: input is on {input.device} but the layer's parameters are on "
            f"{param.device}; move one with .to(...)"
        )
    if input.dtype != param.dtype:
        raise RuntimeError(
            f"{layer!r}: input dtype {input.dtype} does not match the parameter dtype "
            f"{param.dtype}; convert the input or call model.to({param.dtype})"
        )
