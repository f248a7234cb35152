"""The fully connected layer: y = x Wᵀ + b over the last dim, as one matrix product."""
from __future__ import annotations

import math

from ..autograd import Function
from ..backends import device_of
from ..tensor import Tensor

__all__ = ["linear"]


class Linear(Function):
    """x: (*, in), weight: (out, in), bias: (out,) or None -> (*, out).

    All leading dims are folded into one batch of rows, so forward and backward are each a
    single GEMM per product whatever the input's rank.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        out_features, in_features = weight.shape
        rows = x.reshape(math.prod(x.shape[:-1]), in_features)  # (M, in): M may be 0, so no -1
        out = rows @ weight.T  # (M, out)
        if bias is not None:
            out += bias
        ctx.save_for_backward(rows, weight)
        ctx.input_shape = x.shape
        return out.reshape(x.shape[:-1] + (out_features,))

    @staticmethod
    def backward(ctx, grad):
        rows, weight = ctx.saved_tensors
        needs_x, needs_w, needs_b = ctx.needs_input_grad
        grad_rows = grad.reshape(rows.shape[0], weight.shape[0])  # (M, out)
        grad_x = (grad_rows @ weight).reshape(ctx.input_shape) if needs_x else None  # (M, in)
        grad_w = grad_rows.T @ rows if needs_w else None  # (out, in): every row's outer product, summed
        grad_b = grad_rows.sum(axis=0) if needs_b else None  # (out,)
        return grad_x, grad_w, grad_b


def _check_linear_args(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if weight.ndim != 2:
        raise RuntimeError(
            f"linear: expected a 2-D weight (out_features, in_features), got shape {tuple(weight.shape)}"
        )
    if input.ndim == 0:
        raise RuntimeError("linear: input must have at least 1 dim (*, in_features), got a 0-d tensor")
    out_features, in_features = weight.shape
    if input.shape[-1] != in_features:
        raise RuntimeError(
            f"linear: input has {input.shape[-1]} features (shape {tuple(input.shape)}) but weight "
            f"expects {in_features} (weight shape {tuple(weight.shape)})"
        )
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise RuntimeError(
            f"linear: expected bias of shape ({out_features},) for weight {tuple(weight.shape)}, "
            f"got {tuple(bias.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if t.dtype != input.dtype:
            raise RuntimeError(f"linear: {name} dtype {t.dtype} does not match input dtype {input.dtype}")
        if device_of(t.array) != device_of(input.array):
            raise RuntimeError(
                f"linear: expected all tensors on the same device, but input is on "
                f"{device_of(input.array)} and {name} is on {device_of(t.array)}"
            )


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weightᵀ + bias. input: (*, in_features), weight: (out_features, in_features),
    bias: (out_features,) or None; returns (*, out_features)."""
    _check_linear_args(input, weight, bias)
    return Linear.apply(input, weight, bias)
