"""Activations with torch's names: elementwise nonlinearities, softmax / log_softmax along a dim.

The Functions (value and derivative side by side) are in :mod:`minicnn.ops.activation`; here
are the arguments torch takes. The ``inplace=`` arguments are accepted for torch
compatibility and ignored: minicnn never overwrites an input, so the result is always a new
tensor.
"""
from __future__ import annotations

import warnings

from ..ops.activation import ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, SiLU, Sigmoid, Softmax, Tanh
from ..tensor import Tensor
from ..tensor.activation import softmax_along
from ..tensor.arguments import floating, refuse_bool, require_floating

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardtanh",
    "softmax", "log_softmax",
]


def _softmax_like(function, name: str, input: Tensor, dim, stacklevel: int, dtype) -> Tensor:
    if dim is None:
        # torch's legacy choice, kept for old code: dim 0 for 0-, 1- and 3-d input, else dim 1.
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. "
            "Change the call to include dim=X as an argument.",
            stacklevel=stacklevel,
        )
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return softmax_along(function, name, input, dim, dtype)


# --------------------------------------------------------------------------- public functions
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), any shape."""
    return input.relu()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), any shape."""
    return hardtanh(input, 0.0, 6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val], any shape."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val (got {min_val} > {max_val})")
    refuse_bool("hardtanh", input)
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope · x otherwise; any shape."""
    require_floating("leaky_relu", input)
    return LeakyReLU.apply(input, negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha · (eˣ - 1) otherwise; any shape."""
    require_floating("elu", input)
    return ELU.apply(input, alpha=alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x · Φ(x) with the exact normal CDF (``approximate="none"``) or the tanh form; any shape."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either none or tanh, got {approximate!r}")
    require_floating("gelu", input)
    return GELU.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x · σ(x) (also called swish), any shape."""
    require_floating("silu", input)
    return SiLU.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ), any shape; integers give the default float dtype, as in torch."""
    return Sigmoid.apply(floating(input))


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent, any shape; integers give the default float dtype, as in torch."""
    return Tanh.apply(floating(input))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """e^x / Σ e^x along ``dim`` (same shape out); ``dtype`` casts the input first, as in torch."""
    return _softmax_like(Softmax, "softmax", input, dim, _stacklevel, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - log Σ e^x along ``dim``, computed stably (same shape out)."""
    return _softmax_like(LogSoftmax, "log_softmax", input, dim, _stacklevel, dtype)
