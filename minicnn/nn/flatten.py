"""Flatten and Unflatten: reshape layers (no arithmetic), e.g. between conv and linear layers."""
from __future__ import annotations

import math

from ..tensor import Tensor
from ._validation import check_is_tensor
from .module import Module


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        check_is_tensor(self, input)
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one entry may be -1): the inverse of Flatten."""

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(s, int) for s in unflattened_size
        ):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple or list of ints, got {unflattened_size!r}"
            )
        if any(s < 1 and s != -1 for s in unflattened_size) or list(unflattened_size).count(-1) > 1:
            raise ValueError(
                "Unflatten: unflattened_size entries must be positive, with at most one -1 "
                f"(inferred), got {unflattened_size!r}"
            )
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        check_is_tensor(self, input)
        shape = tuple(input.shape)
        dim = self.dim % len(shape)
        sizes = tuple(self.unflattened_size)
        known = math.prod(s for s in sizes if s != -1)  # a -1 takes whatever is left over
        fits = shape[dim] % known == 0 if -1 in sizes else known == shape[dim]
        if not fits:
            raise RuntimeError(
                f"{self!r}: sizes {list(sizes)} don't multiply up to the size of dim {self.dim} "
                f"({shape[dim]}) in the input of shape {shape}"
            )
        return input.reshape(shape[:dim] + sizes + shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
