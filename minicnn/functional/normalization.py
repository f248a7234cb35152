"""batch_norm, layer_norm and group_norm: one "normalize over some axes, then affine" core.

All three compute x̂ = (x - mean) / √(var + eps) with the (biased) statistics taken over some
axes, then y = x̂ · weight + bias with weight and bias broadcast along others:

    op          statistics over                     one (weight, bias) entry per
    batch_norm  N and every spatial position        channel C
    layer_norm  the trailing ``normalized_shape``   element of normalized_shape
    group_norm  C/G channels × spatial, per (n, g)  channel C

so each is a choice of axes for :class:`Normalize` and a broadcast shape for :class:`Affine`.
"""
from __future__ import annotations

import math

from typing import Sequence

from ..autograd import Function
from ..backends import array_module
from ..ops.broadcast import sum_to_shape
from ..tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm"]


class Normalize(Function):
    """x̂ = (x - mean) / √(var + eps); mean and var (shaped to broadcast) come from the caller.

    ``stats_axes`` names the axes they were computed over when they are x's own statistics, so
    that they depend on x; None when they are constants (batch norm's running statistics).
    """

    @staticmethod
    def forward(ctx, x, *, mean, var, eps, stats_axes):
        inv_std = 1 / array_module(x).sqrt(var + eps)
        x_hat = (x - mean) * inv_std
        ctx.save_for_backward(x_hat, inv_std)
        ctx.stats_axes = stats_axes
        return x_hat

    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_std = ctx.saved_tensors
        axes = ctx.stats_axes
        if axes is None:
            return grad * inv_std
        # Each statistic averages M values: ∂mean/∂xᵢ = 1/M and ∂var/∂xᵢ = 2(xᵢ - mean)/M.
        # The chain rule through x, mean and var collapses to dx = (g - mean(g) - x̂·mean(g·x̂)) / std:
        # the upstream gradient minus its average and its projection onto x̂, scaled by 1/std.
        g_mean = grad.mean(axis=axes, keepdims=True)
        g_dot_x_hat = (grad * x_hat).mean(axis=axes, keepdims=True)
        return inv_std * (grad - g_mean - x_hat * g_dot_x_hat)


class Affine(Function):
    """y = x̂ · weight + bias, weight and bias (either may be None) reshaped to ``param_shape``."""

    @staticmethod
    def forward(ctx, x_hat, weight, bias, *, param_shape):
        y = x_hat
        if weight is not None:
            y = y * weight.reshape(param_shape)
        if bias is not None:
            y = y + bias.reshape(param_shape)
        ctx.save_for_backward(x_hat, weight)
        ctx.param_shape = param_shape
        ctx.bias_shape = None if bias is None else bias.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        x_hat, weight = ctx.saved_tensors
        needs_x_hat, needs_weight, needs_bias = ctx.needs_input_grad
        shape = ctx.param_shape
        grad_x_hat = grad_weight = grad_bias = None
        if needs_x_hat:
            grad_x_hat = grad if weight is None else grad * weight.reshape(shape)
        if needs_weight:  # sum over every axis the weight was broadcast along
            grad_weight = sum_to_shape(grad * x_hat, shape).reshape(weight.shape)
        if needs_bias:
            grad_bias = sum_to_shape(grad, shape).reshape(ctx.bias_shape)
        return grad_x_hat, grad_weight, grad_bias


def _normalize_over(input: Tensor, axes: tuple, eps: float):
    """Normalize ``input`` with its own statistics over ``axes``; return (x̂, mean, biased var)."""
    x = input.array
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # divides by M: the biased variance, as torch normalizes
    return Normalize.apply(input, mean=mean, var=var, eps=eps, stats_axes=axes), mean, var


def _affine(x_hat: Tensor, weight: Tensor | None, bias: Tensor | None, param_shape: tuple) -> Tensor:
    if weight is None and bias is None:
        return x_hat
    return Affine.apply(x_hat, weight, bias, param_shape=param_shape)


def _check_params(op: str, input: Tensor, shape: tuple, expectation: str, **params: Tensor | None) -> None:
    """Every tensor given in ``params`` must have ``shape`` and the input's dtype."""
    for name, t in params.items():
        if t is None:
            continue
        if tuple(t.shape) != shape:
            raise RuntimeError(f"{op}: expected {name} with {expectation}, got shape {tuple(t.shape)}")
        if t.dtype != input.dtype:
            raise RuntimeError(f"{op}: {name} dtype {t.dtype} does not match input dtype {input.dtype}")


def _check_has_channels(op: str, input: Tensor) -> None:
    if input.ndim < 2:
        raise RuntimeError(
            f"{op}: expected input of shape (N, C, *) with at least 2 dims, got {tuple(input.shape)}"
        )


def _update_running_stats(
    running_mean: Tensor, running_var: Tensor, mean, var, momentum: float, count: int
) -> None:
    """running ← (1 - momentum) · running + momentum · batch, written into the buffers' arrays.

    running_var tracks the unbiased variance (× M/(M-1)) although the batch was normalized
    with the biased one: torch's convention, so its running statistics can be loaded here.
    """
    rm, rv = running_mean.array, running_var.array
    rm[...] = (1 - momentum) * rm + momentum * mean.reshape(rm.shape)
    rv[...] = (1 - momentum) * rv + momentum * var.reshape(rv.shape) * (count / (count - 1))


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of input (N, C, *) — (N, C), (N, C, L), (N, C, H, W) — to zero mean
    and unit variance, then scale and shift by weight, bias (C,).

    training=True: the batch's statistics are used and, when running_mean/running_var (C,) are
    given and the batch is not empty, updated in place with ``momentum`` (any float; the module passes 1/num_batches for a
    cumulative average). training=False: the running statistics are used.
    """
    _check_has_channels("batch_norm", input)
    channels = input.shape[1]
    _check_params(
        "batch_norm", input, (channels,), f"C={channels} features",
        running_mean=running_mean, running_var=running_var, weight=weight, bias=bias,
    )
    if (running_mean is None) != (running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var must be given together (or both None)")
    param_shape = (1, channels) + (1,) * (input.ndim - 2)  # broadcasts a (C,) vector over N and space
    if training:
        count = input.array.size // channels  # values averaged per channel: N × spatial positions
        if count == 1:
            raise ValueError(
                "batch_norm: Expected more than 1 value per channel when training, "
                f"got input size {list(input.shape)}"
            )
        stats_axes = (0,) + tuple(range(2, input.ndim))  # every axis except the channel axis
        x_hat, mean, var = _normalize_over(input, stats_axes, eps)
        # An empty batch has no statistics (its mean is nan): torch leaves the running ones as
        # they were (the module still counts the batch in num_batches_tracked).
        if running_mean is not None and count > 0:
            _update_running_stats(running_mean, running_var, mean, var, momentum, count)
    else:
        if running_mean is None:
            raise RuntimeError("batch_norm: running_mean must be defined in evaluation mode (training=False)")
        x_hat = Normalize.apply(
            input,
            mean=running_mean.array.reshape(param_shape),
            var=running_var.array.reshape(param_shape),
            eps=eps,
            stats_axes=None,
        )
    return _affine(x_hat, weight, bias, param_shape)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each sample over its trailing dims. input: (*, *normalized_shape);
    weight, bias: normalized_shape (elementwise affine) or None."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(
            f"layer_norm: Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size {list(input.shape)}"
        )
    _check_params("layer_norm", input, shape, f"normalized_shape {shape}", weight=weight, bias=bias)
    x_hat, _, _ = _normalize_over(input, tuple(range(input.ndim - k, input.ndim)), eps)
    # A normalized_shape-shaped weight already broadcasts against (*, *normalized_shape).
    return _affine(x_hat, weight, bias, shape)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split the C channels of input (N, C, *) into num_groups groups and normalize each
    (sample, group) over its C/G channels and all positions; weight, bias: (C,) or None."""
    _check_has_channels("group_norm", input)
    n, channels = input.shape[:2]
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(
            f"group_norm: Expected number of channels in input to be divisible by num_groups, "
            f"but got input of shape {list(input.shape)} and num_groups={num_groups}"
        )
    _check_params("group_norm", input, (channels,), f"C={channels} features", weight=weight, bias=bias)
    # torch's guard, kept as is: it counts N × (C/G) × spatial, so only N=1, C=G, no space trips it.
    if input.array.size // num_groups == 1:
        raise ValueError(
            "group_norm: Expected more than 1 value per channel when training, "
            f"got input size {list(input.shape)}"
        )
    # Channels are contiguous within a group, so (N, C, *) -> (N, G, C/G × spatial) puts each
    # group's values in one row (its length spelled out: with N = 0, -1 would be ambiguous).
    grouped = input.reshape(n, num_groups, channels // num_groups * math.prod(input.shape[2:]))
    x_hat, _, _ = _normalize_over(grouped, (2,), eps)
    param_shape = (1, channels) + (1,) * (input.ndim - 2)
    return _affine(x_hat.reshape(input.shape), weight, bias, param_shape)
