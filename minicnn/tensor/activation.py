"""Tensor methods for the nonlinearities torch puts on Tensor: relu, sigmoid, tanh, softmax.

The Functions are in :mod:`minicnn.ops.activation`; :mod:`minicnn.functional` builds its
softmax and log_softmax on :func:`softmax_along` too, so both check dims and cast alike.
"""
from __future__ import annotations

from ..autograd.tensor_core import Tensor
from ..ops.activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from ..ops.dims import wrap_dim
from .arguments import floating, refuse_bool, require_floating


def softmax_along(function, name: str, input: Tensor, dim: int, dtype=None) -> Tensor:
    """``function`` (Softmax or LogSoftmax) along ``dim``; ``dtype`` casts the input first.

    A 0-d input is its own only class, treated as a vector of length 1; an empty dim gives an
    empty result, as in torch. Integer input needs ``dtype`` (torch has no integer softmax).
    """
    axis = wrap_dim(dim, input.ndim, op=name)
    if dtype is not None:
        input = input.to(dtype)
    require_floating(name, input)
    if input.ndim == 0:
        return function.apply(input.reshape(1), 0).reshape(())
    return function.apply(input, axis)


class ActivationMethods:
    """``x.relu()``, ``x.sigmoid()``, ``x.tanh()``, ``x.softmax(dim)``, ``x.log_softmax(dim)``."""

    def relu(self) -> Tensor:
        refuse_bool("relu", self)
        return ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(floating(self))

    def tanh(self) -> Tensor:
        return Tanh.apply(floating(self))

    def softmax(self, dim: int, dtype=None) -> Tensor:
        return softmax_along(Softmax, "softmax", self, dim, dtype)

    def log_softmax(self, dim: int, dtype=None) -> Tensor:
        return softmax_along(LogSoftmax, "log_softmax", self, dim, dtype)
