"""Losses, with torch's names, arguments, reductions and weighting rules.

Classification losses are written as one formula: for each sample (and spatial position) a
class distribution q, and loss = -Σ_c q_c · log p_c. A class-index target t with class
weights w and label smoothing ε gives q = (1 - ε)·w[t]·onehot(t) + (ε/C)·w (zero for an
ignored target); a probability target gives q = ((1 - ε)·target + ε/C)·w. cross_entropy fuses
log_softmax into that sum, so its backward is the short (Σq)·softmax - q — softmax - onehot
in the plain case — instead of two passes through softmax's Jacobian.

``reduction="mean"`` divides by the sum of the kept targets' weights for class-index
targets (torch's weighted mean), by the number of samples for probability targets, by the
number of elements for the elementwise losses, and by Σ weight for weighted mse/l1.
The deprecated ``size_average``/``reduce`` flags are accepted, with torch's warning.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..backends import array_module
from ..ops.activation import stable_log_softmax, stable_sigmoid
from ..ops.broadcast import sum_to_shape
from ..tensor import Tensor, where
from ..tensor.arguments import cast

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("none", "mean", "sum")


# --------------------------------------------------------------------------- reductions
def _resolve_reduction(op: str, size_average, reduce, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        # torch's legacy mapping (None means True): reduce=False keeps every element, else
        # size_average picks between mean and sum.
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
            stacklevel=3,
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: {reduction!r} is not a valid value for reduction (expected 'none', 'mean' or 'sum')"
        )
    return reduction


def _reduce(loss: Tensor, reduction: str, divisor=None) -> Tensor:
    """'none': the per-element loss; 'sum': its total; 'mean': total / divisor (default: element count)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if divisor is None:
        return loss.mean()
    # divisor == 0 means every target was ignored: the mean of nothing is NaN, and (as in torch)
    # the gradient is zero, not 0/0: no sample contributes, so the loss does not depend on the input.
    if not isinstance(divisor, Tensor):  # a count known on the host
        return loss.sum() + float("nan") if divisor == 0 else loss.sum() / divisor
    # A 0-d tensor on the loss's device (a sum of weights): deciding on the host would wait for
    # the GPU at every loss, so both cases are computed there, with where.
    empty = divisor == 0
    return loss.sum() / where(empty, 1, divisor) + where(empty, float("nan"), 0.0)


# --------------------------------------------------------------------------- classification
class SoftmaxCrossEntropy(Function):
    """loss[n, *] = -Σ_c q[n, c, *] · log_softmax(z)[n, c, *], logits z and q: (N, C, *)."""

    @staticmethod
    def forward(ctx, logits, q):
        log_p = stable_log_softmax(array_module(logits), logits, axis=1)
        ctx.save_for_backward(log_p, q)
        return -(q * log_p).sum(axis=1)

    @staticmethod
    def backward(ctx, grad):
        log_p, q = ctx.saved_tensors
        xp = array_module(log_p)
        g = xp.expand_dims(grad, 1)  # (N, 1, *): the same upstream value for every class
        needs_logits, needs_q = ctx.needs_input_grad
        # ∂/∂z_c of -Σ_k q_k (z_k - logsumexp z) = (Σ_k q_k)·softmax_c - q_c.
        grad_logits = g * (q.sum(axis=1, keepdims=True) * xp.exp(log_p) - q) if needs_logits else None
        grad_q = -g * log_p if needs_q else None
        return grad_logits, grad_q


class NegativeLogLikelihood(Function):
    """loss[n, *] = -Σ_c q[n, c, *] · log_p[n, c, *]: -w[t] · log_p[t] for a weighted one-hot q."""

    @staticmethod
    def forward(ctx, log_p, q):
        ctx.q = q
        return -(q * log_p).sum(axis=1)

    @staticmethod
    def backward(ctx, grad):
        return -array_module(grad).expand_dims(grad, 1) * ctx.q, None


def _with_batch_dim(op: str, input: Tensor, target: Tensor):
    """Return (input (N, C, *), target, unbatched): a (C,) input is one sample, given N = 1."""
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point input of shape (N, C, *), got dtype {input.dtype}")
    if input.ndim == 0:
        raise RuntimeError(f"{op}: expected input of shape (N, C, *) or (C,), got a 0-d tensor")
    if input.ndim == 1:
        return input.unsqueeze(0), target.unsqueeze(0), True
    return input, target, False


def _class_shape(input: Tensor) -> tuple:
    """(1, C, 1, ...): broadcasts a per-class vector along the class axis of (N, C, *)."""
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def _check_class_weight(op: str, input: Tensor, weight: Tensor | None) -> None:
    if weight is None:
        return
    n_classes = input.shape[1]
    if tuple(weight.shape) != (n_classes,):
        raise RuntimeError(
            f"{op}: weight tensor should be defined either for all {n_classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    if weight.dtype != input.dtype:
        raise RuntimeError(f"{op}: weight dtype {weight.dtype} does not match input dtype {input.dtype}")


def _check_class_target(op: str, input: Tensor, target: Tensor) -> None:
    """target must hold integer class indices shaped (N, *) for input (N, C, *)."""
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if target.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected a target of integer class indices (shape {expected}), "
            f"got dtype {target.dtype} (shape {tuple(target.shape)}); class probabilities must be a "
            f"float target shaped like the input {tuple(input.shape)}"
        )
    if target.ndim == 0 or target.shape[0] != input.shape[0]:
        got = target.shape[0] if target.ndim else "none"
        raise ValueError(
            f"{op}: Expected input batch_size ({input.shape[0]}) to match target batch_size ({got})."
        )
    if tuple(target.shape) != expected:
        raise RuntimeError(
            f"{op}: expected target of shape {expected} for input of shape {tuple(input.shape)}, "
            f"got {tuple(target.shape)}"
        )


def _class_index_distribution(
    op: str, input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, smoothing: float
):
    """q (N, C, *) for class-index targets (N, *), and the weighted mean's divisor Σ w[t] over kept
    t as a 0-d tensor on the input's device.

    Out-of-range targets: on the CPU an IndexError names the first one. On the GPU, checking
    would copy the flag to the host and wait for the GPU at every loss (what torch does instead,
    a device-side assert, would leave the CUDA context unusable), so there they make their
    sample's weight NaN: the loss and every gradient come out NaN, visibly, and nothing waits.
    """
    _check_class_target(op, input, target)
    t = target.array
    xp = array_module(t)
    n_classes = input.shape[1]
    kept = t != ignore_index
    out_of_range = kept & ((t < 0) | (t >= n_classes))
    if isinstance(t, np.ndarray):
        _raise_on_host_if_out_of_range(op, np.asarray(t), np.asarray(out_of_range), n_classes, ignore_index)
    # Any valid index where ignored or out of range: those rows are zeroed by `kept` or made NaN.
    safe = xp.where(kept & ~out_of_range, t, 0)
    w = xp.ones(n_classes, dtype=input.dtype) if weight is None else weight.array
    # (N, *): the weight of each sample's class, 0 where ignored, NaN where out of range.
    target_weight = xp.where(out_of_range, w.dtype.type(np.nan), w[safe] * kept)
    onehot = xp.expand_dims(safe, 1) == xp.arange(n_classes).reshape(_class_shape(input))
    q = onehot * xp.expand_dims((1 - smoothing) * target_weight, 1)
    if smoothing:
        q = q + (smoothing / n_classes) * w.reshape(_class_shape(input)) * xp.expand_dims(kept, 1)
    return q, Tensor(target_weight.sum())


def _raise_on_host_if_out_of_range(op: str, t: np.ndarray, out_of_range: np.ndarray, n_classes: int,
                                   ignore_index: int) -> None:
    """The clear error for CPU targets; base-class NumPy arrays, so that reading them here is never
    mistaken for a host round trip by the tests that catch those (tests/test_host_sync.py)."""
    if out_of_range.any():
        bad = int(t[out_of_range].reshape(-1)[0])
        raise IndexError(
            f"{op}: Target {bad} is out of bounds. Expected class indices in [0, {n_classes - 1}] "
            f"(input has {n_classes} classes) or ignore_index={ignore_index}."
        )


def _probability_distribution(input: Tensor, target: Tensor, weight: Tensor | None, smoothing: float):
    """q for a probability target shaped like input, built with Tensor ops so target and weight
    get gradients (as in torch); the mean divides by the number of samples, N × spatial."""
    if target.dtype.kind != "f":
        raise RuntimeError(
            f"cross_entropy: Expected floating point type for target with class probabilities, "
            f"got {target.dtype} (a target shaped like the input {tuple(input.shape)} holds probabilities)"
        )
    n_classes = input.shape[1]
    q = target if smoothing == 0 else target * (1 - smoothing) + smoothing / n_classes
    if weight is not None:
        q = q * weight.reshape(_class_shape(input))
    return q, input.array.size // n_classes


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross entropy of logits input (N, C, *) or (C,) against class indices (N, *) / ()
    or class probabilities shaped like input. weight: (C,) per-class weights or None.

    Returns (N, *) for reduction="none", else a scalar.
    """
    reduction = _resolve_reduction("cross_entropy", size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )
    batched, target, unbatched = _with_batch_dim("cross_entropy", input, target)
    _check_class_weight("cross_entropy", batched, weight)
    if tuple(target.shape) == tuple(batched.shape):  # torch's rule: same shape means probabilities
        q, divisor = _probability_distribution(batched, target, weight, label_smoothing)
    else:
        q, divisor = _class_index_distribution(
            "cross_entropy", batched, target, weight, ignore_index, label_smoothing
        )
    loss = SoftmaxCrossEntropy.apply(batched, q)
    return _reduce(loss.reshape(()) if unbatched else loss, reduction, divisor)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of log-probabilities input (N, C, *) or (C,) at class indices
    target (N, *) / (); weight: (C,) or None. Returns (N, *) for reduction="none", else a scalar."""
    reduction = _resolve_reduction("nll_loss", size_average, reduce, reduction)
    batched, target, unbatched = _with_batch_dim("nll_loss", input, target)
    _check_class_weight("nll_loss", batched, weight)
    q, divisor = _class_index_distribution("nll_loss", batched, target, weight, ignore_index, 0.0)
    loss = NegativeLogLikelihood.apply(batched, q)
    return _reduce(loss.reshape(()) if unbatched else loss, reduction, divisor)


# --------------------------------------------------------------------------- regression
class ElementwiseError(Function):
    """loss = f(x - t) elementwise, x and t broadcast; ∂/∂x = f'(x - t) = -∂/∂t."""

    @staticmethod
    def f(xp, diff):
        raise NotImplementedError

    @staticmethod
    def slope(xp, diff):
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x, t):
        diff = x - t
        ctx.save_for_backward(diff)
        ctx.shapes = x.shape, t.shape
        return cls.f(array_module(diff), diff)

    @classmethod
    def backward(cls, ctx, grad):
        (diff,) = ctx.saved_tensors
        x_shape, t_shape = ctx.shapes
        needs_x, needs_t = ctx.needs_input_grad
        g = grad * cls.slope(array_module(diff), diff)
        return (sum_to_shape(g, x_shape) if needs_x else None, sum_to_shape(-g, t_shape) if needs_t else None)


class SquaredError(ElementwiseError):
    @staticmethod
    def f(xp, diff):
        return diff * diff

    @staticmethod
    def slope(xp, diff):
        return 2 * diff


class AbsoluteError(ElementwiseError):
    @staticmethod
    def f(xp, diff):
        return abs(diff)

    @staticmethod
    def slope(xp, diff):
        return xp.sign(diff)  # 0 where x == t, as torch


def _check_target_shape(op: str, input: Tensor, target: Tensor) -> None:
    """Like torch: warn when the shapes differ (broadcasting a target is rarely what was meant),
    fail when they do not even broadcast."""
    if tuple(target.shape) == tuple(input.shape):
        return
    warnings.warn(
        f"Using a target size ({tuple(target.shape)}) that is different to the input size "
        f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
        "Please ensure they have the same size.",
        stacklevel=4,
    )
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise RuntimeError(
            f"{op}: target of shape {tuple(target.shape)} does not broadcast with input of shape "
            f"{tuple(input.shape)}"
        ) from None


def _regression_loss(
    op: str, function: type[Function], input: Tensor, target: Tensor, reduction: str, weight: Tensor | None
) -> Tensor:
    _check_target_shape(op, input, target)
    # torch broadcasts the two first, so a 0-d target promotes like a full one; and float32
    # with an int64 target stays float32.
    dtype = dtypes.promote_types(input.dtype, target.dtype)
    if dtype.kind not in "fc":
        raise RuntimeError(f"{op}: expected a floating-point input or target, got {input.dtype} and {target.dtype}")
    loss = function.apply(cast(input, dtype), cast(target, dtype))
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(
            f"{op}: Weights and input must have the same size (weight {tuple(weight.shape)}, "
            f"input {tuple(input.shape)})"
        )
    return _reduce(loss * weight, reduction, divisor=weight.sum())  # weighted mean: Σ w·e / Σ w


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """(input - target)², any shape (target broadcast, with torch's warning); weight: input's shape."""
    reduction = _resolve_reduction("mse_loss", size_average, reduce, reduction)
    return _regression_loss("mse_loss", SquaredError, input, target, reduction, weight)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """|input - target|, any shape (target broadcast, with torch's warning); weight: input's shape."""
    reduction = _resolve_reduction("l1_loss", size_average, reduce, reduction)
    return _regression_loss("l1_loss", AbsoluteError, input, target, reduction, weight)


# --------------------------------------------------------------------------- binary
# torch's floor for x (1 - x) in BCE's backward: 1e-12 held as a float32 constant (9.99999996e-13).
_BCE_FLOOR = float(np.float32(1e-12))


class BinaryCrossEntropy(Function):
    """-(t · log x + (1 - t) · log(1 - x)) for probabilities x; each log floored at -100 as torch
    does, so x = 0 or 1 gives a large finite loss rather than inf."""

    @staticmethod
    def forward(ctx, x, t):
        xp = array_module(x)
        ctx.save_for_backward(x, t)
        return -(t * xp.maximum(xp.log(x), -100) + (1 - t) * xp.maximum(xp.log1p(-x), -100))

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        xp = array_module(x)
        needs_x, needs_t = ctx.needs_input_grad
        # ∂/∂x = (x - t) / (x (1 - x)); torch floors the denominator to stay finite at 0 and 1.
        grad_x = grad * (x - t) / xp.maximum(x * (1 - x), _BCE_FLOOR) if needs_x else None
        grad_t = grad * (xp.log1p(-x) - xp.log(x)) if needs_t else None
        return grad_x, grad_t


class BinaryCrossEntropyWithLogits(Function):
    """BCE of sigmoid(x), written as (1 - t)·x + l·softplus(-x) with l = 1 + (pos_weight - 1)·t.

    log σ(x) = -softplus(-x) and softplus(-x) = max(-x, 0) + log(1 + e^(-|x|)) never
    overflows, so large |x| stay exact where sigmoid followed by log would round to log(0).
    """

    @staticmethod
    def forward(ctx, x, t, pos_weight):
        xp = array_module(x)
        pos_weight = 1.0 if pos_weight is None else pos_weight
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-abs(x)))
        ctx.save_for_backward(x, t, pos_weight, softplus_neg)
        return (1 - t) * x + (1 + (pos_weight - 1) * t) * softplus_neg

    @staticmethod
    def backward(ctx, grad):
        x, t, pos_weight, softplus_neg = ctx.saved_tensors
        xp = array_module(x)
        needs_x, needs_t, _ = ctx.needs_input_grad
        grad_x = grad_t = None
        if needs_x:  # d/dx = l·σ(x) - pos_weight·t, i.e. σ(x) - t without pos_weight
            grad_x = grad * ((1 + (pos_weight - 1) * t) * stable_sigmoid(xp, x) - pos_weight * t)
        if needs_t:  # d/dt = -x + (pos_weight - 1)·softplus(-x)
            grad_t = grad * (-x + (pos_weight - 1) * softplus_neg)
        return grad_x, grad_t, None


def _check_same_shape_target(op: str, input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"{op}: Target size {tuple(target.shape)} must be the same as input size {tuple(input.shape)}"
        )


def _check_broadcasts_to_input(op: str, name: str, input: Tensor, t: Tensor | None) -> None:
    if t is None:
        return
    try:
        fits = np.broadcast_shapes(t.shape, input.shape) == tuple(input.shape)
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(
            f"{op}: {name} of shape {tuple(t.shape)} does not broadcast to input shape {tuple(input.shape)}"
        )


def _weighted_reduce(loss: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """BCE of probabilities input ∈ [0, 1] against target ∈ [0, 1], same shape (any);
    weight broadcasts to input."""
    op = "binary_cross_entropy"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    _check_same_shape_target(op, input, target)
    _check_broadcasts_to_input(op, "weight", input, weight)
    if target.dtype != input.dtype:  # torch does not promote here
        raise RuntimeError(f"{op}: Found dtype {target.dtype} but expected {input.dtype} for the target")
    for name, t in (("input", input), ("target", target)):
        if ((t.array < 0) | (t.array > 1)).any():
            raise RuntimeError(f"{op}: all elements of {name} should be between 0 and 1")
    return _weighted_reduce(BinaryCrossEntropy.apply(input, target), weight, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE of sigmoid(input) against target ∈ [0, 1], same shape (any); weight broadcasts to input;
    pos_weight (e.g. (C,) for input (N, C)) scales the positive term, broadcast over the last dims."""
    op = "binary_cross_entropy_with_logits"
    reduction = _resolve_reduction(op, size_average, reduce, reduction)
    _check_same_shape_target(op, input, target)
    _check_broadcasts_to_input(op, "weight", input, weight)
    _check_broadcasts_to_input(op, "pos_weight", input, pos_weight)
    for name, t in (("input", input), ("target", target)):
        if not t.is_floating_point():
            raise RuntimeError(f"{op}: expected a floating-point {name}, got {t.dtype}")
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    return _weighted_reduce(loss, weight, reduction)
