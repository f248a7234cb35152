"""Flatten parameters into one vector and back (for line searches, second-order methods)."""
from __future__ import annotations

from typing import Iterable

from ...tensor import Tensor, cat


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters, flattened and concatenated in order: shape (total numel,)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make consecutive slices of ``vec`` the data of ``parameters`` (the inverse of the above).

    As in torch, each parameter then holds a view of ``vec``, in ``vec``'s dtype."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected minicnn.Tensor, but got: {type(vec).__name__}")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.dim() != 1 or vec.numel() != total:
        raise ValueError(
            f"vector_to_parameters: expected a vector of {total} elements, got shape {vec.shape}"
        )
    start = 0
    for p in parameters:
        n = p.numel()
        p.array = vec.array[start:start + n].reshape(p.shape)
        start += n
