"""Dropout: zero random elements (or whole channels) in training, rescale the survivors.

"Inverted" dropout scales the kept values by 1/(1-p) at training time, so the expected value
of every element is unchanged and evaluation needs no rescaling: it is the identity.

Masks come from :func:`minicnn.random.default_generator`, so ``minicnn.manual_seed(s)``
reproduces them (torch's own random stream is not reproduced; see :mod:`minicnn.random`).
``inplace=`` is accepted for torch compatibility and ignored: the result is a new tensor.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backends import array_module
from ..random import default_generator
from ..tensor import Tensor

__all__ = ["dropout", "dropout2d"]


class MaskedScale(Function):
    """y = x · noise, with ``noise`` (0 or 1/(1-p)) broadcast over x; dy/dx is the same noise."""

    @staticmethod
    def forward(ctx, x, noise):
        ctx.noise = noise
        return x * noise

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.noise, None


def _check_probability(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _check_floating(op: str, input: Tensor) -> None:
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {input.dtype}")


def _noise(x, mask_shape: tuple, p: float):
    """Keep each mask entry with probability 1 - p; kept entries hold 1/(1-p), in x's dtype.

    The uniform draws come from minicnn's NumPy generator and are moved to x's device, so one
    seed gives the same mask on CPU and GPU.
    """
    xp = array_module(x)
    if p == 1.0:  # everything dropped; 1/(1-p) would divide by zero
        return xp.zeros(mask_shape, dtype=x.dtype)
    keep = default_generator().random(mask_shape, dtype=np.float32) < 1.0 - p
    return xp.asarray(keep).astype(x.dtype) * (1.0 / (1.0 - p))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p); any shape.

    Returns ``input`` itself when not training or when p = 0.
    """
    _check_probability(p)
    _check_floating("dropout", input)
    if not training or p == 0.0:
        return input
    return MaskedScale.apply(input, _noise(input.array, input.shape, p))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels (each H×W plane) with probability ``p``; scale the rest by 1/(1-p).

    input: (N, C, H, W), or (C, H, W) without a batch dim. One draw per (n, c) plane, so
    neighbouring pixels — strongly correlated in a feature map — are dropped together.

    Note: torch 2.x still reads a 3-d input as (N, C, L) and drops per (n, c) row, with a
    warning that this will change; minicnn already follows the documented (C, H, W) meaning.
    """
    _check_probability(p)
    _check_floating("dropout2d", input)
    if input.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    plane_shape = input.shape[:-2] + (1, 1)  # one draw per channel, broadcast over H and W
    return MaskedScale.apply(input, _noise(input.array, plane_shape, p))
