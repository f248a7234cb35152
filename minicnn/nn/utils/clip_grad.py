"""Gradient clipping, in place on ``p.grad`` (call between ``backward()`` and ``step()``)."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ...backends import array_module
from ...tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _vector_norm(array, norm_type: float):
    """The p-norm of all elements of ``array`` (p = inf: the largest magnitude)."""
    xp = array_module(array)
    magnitudes = xp.abs(array)
    if norm_type == math.inf:
        return magnitudes.max() if magnitudes.size else xp.zeros((), array.dtype)
    return (magnitudes**norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most ``max_norm``.

    The joint norm is the norm of the vector of per-tensor norms (equal to the norm of all
    gradients concatenated). Returns that norm before clipping, as a 0-d Tensor.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor(np.zeros((), np.float32))
    xp = array_module(grads[0].array)
    per_tensor = xp.stack([_vector_norm(g.array, norm_type) for g in grads])
    total_norm = _vector_norm(per_tensor, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total_norm)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    # The 1e-6 keeps the division finite for all-zero gradients; coefficients above 1 would
    # enlarge small gradients, so they are capped at 1 (clipping only ever shrinks).
    coefficient = xp.minimum(max_norm / (total_norm + 1e-6), 1.0)
    for g in grads:
        g.array = (g.array * coefficient).astype(g.array.dtype, copy=False)
    return Tensor(xp.asarray(total_norm))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = array_module(g.array)
        g.array = xp.clip(g.array, -clip_value, clip_value)
