"""Dropout layers: in training, zero random elements (or whole channels) with probability
``p`` and scale the survivors by 1/(1-p), so the expected activation is unchanged and eval
(where they do nothing) needs no rescaling."""
from __future__ import annotations

from .. import functional as F
from ..tensor import Tensor
from .module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(
                f"{self._get_name()}: dropout probability has to be between 0 and 1, but got {p}"
            )
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element independently with probability ``p`` (training only)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input: neighbouring pixels are strongly
    correlated, so dropping single pixels would barely regularise a conv layer."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)
