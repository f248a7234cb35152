"""Linear (fully connected) layer and Identity."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from ..creation import empty
from ..tensor import Tensor
from . import init
from ._validation import check_is_tensor, check_matches_parameter, check_size, require_ints
from .module import Module
from .parameter import Parameter


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments (a placeholder)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x @ weight.T + bias over the last dimension: (*, in_features) -> (*, out_features).

    weight (out_features, in_features), bias (out_features,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        require_ints("Linear", 1, in_features=in_features, out_features=out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default: weight and bias ~ U(±1/sqrt(in_features))."""
        init._fan_in_uniform_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        check_is_tensor(self, input)
        if input.dim() == 0:
            raise RuntimeError(f"{self!r}: expected input with at least 1 dimension, got a 0-d tensor")
        check_size(self, input, -1, self.in_features, "features in its last dimension")
        check_matches_parameter(self, input, self.weight)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
