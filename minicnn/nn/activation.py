"""Activation layers: elementwise non-linearities, and (Log)Softmax over one dimension.

Each is a thin Module around the op of the same name in ``minicnn.functional``; the
Module only stores the op's settings so they show in the model's repr.
"""
from __future__ import annotations

from .. import functional as F
from ..tensor import Tensor
from .module import Module


class _InplaceActivation(Module):
    """Base for activations that accept ``inplace`` (shown in the repr only when True)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def _inplace_suffix(self) -> str:
        return ", inplace=True" if self.inplace else ""

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """max(0, x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)


class SiLU(_InplaceActivation):
    """x · sigmoid(x) (a.k.a. swish)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, inplace=self.inplace)


class LeakyReLU(_InplaceActivation):
    """x for x >= 0, negative_slope · x below."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{self._inplace_suffix()}"


class ELU(_InplaceActivation):
    """x for x > 0, alpha · (exp(x) - 1) below."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{self._inplace_suffix()}"


class Hardtanh(_InplaceActivation):
    """x clamped to [min_val, max_val] (gradient 1 inside, 0 outside)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        if not max_val > min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{self._inplace_suffix()}"


class ReLU6(Hardtanh):
    """min(max(0, x), 6): Hardtanh on [0, 6]."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class GELU(Module):
    """x · Φ(x) (Φ the standard normal CDF); ``approximate="tanh"`` uses the tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class _SoftmaxBase(Module):
    """Softmax and LogSoftmax: the op named ``_op_name`` along ``dim``."""

    _op_name = ""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        # dim=None: the op picks torch's legacy implicit dim (and warns); stacklevel points
        # the warning at the caller of the model.
        return getattr(F, self._op_name)(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """exp(x) / sum(exp(x)) along ``dim``: each slice along ``dim`` becomes a distribution."""

    _op_name = "softmax"


class LogSoftmax(_SoftmaxBase):
    """log(softmax(x)) along ``dim``, computed stably as x - logsumexp(x)."""

    _op_name = "log_softmax"
