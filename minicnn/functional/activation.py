"""Activations: elementwise nonlinearities, and softmax / log_softmax along one dim.

Every elementwise activation is a small :class:`Pointwise` Function that states its value
``f(x)`` and its backward ``grad · f'(x)`` next to each other; the backward reads whichever of
``x`` and ``y = f(x)`` gives the simpler formula (``tanh' = 1 - y²``, ``relu' = [x > 0]``).
Derivatives at the kinks follow torch: relu, relu6 and hardtanh pass no gradient at their
corners, leaky_relu and elu use the negative side's slope at exactly 0.

The ``inplace=`` arguments are accepted for torch compatibility and ignored: minicnn never
overwrites an input, so the result is always a new tensor.
"""
from __future__ import annotations

import math
import warnings

from ..autograd import Function
from ..backends import array_module
from ..tensor import Tensor

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardtanh",
    "softmax", "log_softmax",
]


class Pointwise(Function):
    """y = f(x) elementwise. Subclasses give ``f`` and ``grad_f`` (= grad · f'(x)) side by side.

    Keyword arguments of ``apply`` (slopes, limits) are handed to both.
    """

    @staticmethod
    def f(xp, x, **params):
        raise NotImplementedError

    @staticmethod
    def grad_f(xp, grad, x, y, **params):
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x, **params):
        y = cls.f(array_module(x), x, **params)
        ctx.save_for_backward(x, y)
        ctx.params = params
        return y

    @classmethod
    def backward(cls, ctx, grad):
        x, y = ctx.saved_tensors
        return cls.grad_f(array_module(x), grad, x, y, **ctx.params)


class ReLU(Pointwise):
    @staticmethod
    def f(xp, x):
        return xp.maximum(x, 0)

    @staticmethod
    def grad_f(xp, grad, x, y):
        return grad * (x > 0)


class Hardtanh(Pointwise):
    """Clip to [min_val, max_val]; the gradient flows only strictly inside the interval."""

    @staticmethod
    def f(xp, x, min_val, max_val):
        return xp.clip(x, min_val, max_val)

    @staticmethod
    def grad_f(xp, grad, x, y, min_val, max_val):
        return grad * ((x > min_val) & (x < max_val))


class LeakyReLU(Pointwise):
    @staticmethod
    def f(xp, x, negative_slope):
        return xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def grad_f(xp, grad, x, y, negative_slope):
        return xp.where(x > 0, grad, grad * negative_slope)


class ELU(Pointwise):
    """alpha · (eˣ - 1) for x ≤ 0 (expm1 keeps precision near 0), x above."""

    @staticmethod
    def f(xp, x, alpha):
        return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))

    @staticmethod
    def grad_f(xp, grad, x, y, alpha):
        # For x ≤ 0, d/dx alpha·(eˣ - 1) = alpha·eˣ = y + alpha.
        return xp.where(x > 0, grad, grad * (y + alpha))


def stable_sigmoid(xp, x):
    """1 / (1 + e⁻ˣ) without overflow: only e^(-|x|) ≤ 1 is ever computed."""
    e = xp.exp(-abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Pointwise):
    @staticmethod
    def f(xp, x):
        return stable_sigmoid(xp, x)

    @staticmethod
    def grad_f(xp, grad, x, y):
        return grad * y * (1 - y)


class Tanh(Pointwise):
    @staticmethod
    def f(xp, x):
        return xp.tanh(x)

    @staticmethod
    def grad_f(xp, grad, x, y):
        return grad * (1 - y * y)


class SiLU(Pointwise):
    """x · σ(x); its slope σ(x) · (1 + x · (1 - σ(x))) needs σ, recomputed rather than stored."""

    @staticmethod
    def f(xp, x):
        return x * stable_sigmoid(xp, x)

    @staticmethod
    def grad_f(xp, grad, x, y):
        s = stable_sigmoid(xp, x)
        return grad * s * (1 + x * (1 - s))


# --------------------------------------------------------------------------- GELU and erf
# NumPy has no erf, and SciPy is not a run-time dependency, so erf is evaluated here from two
# textbook expansions (Abramowitz & Stegun 7.1.6 and 7.1.14), each used where it converges fast.
# Against math.erf the result is within ~2e-15 relative everywhere (see tests).
_SERIES_LIMIT = 2.5  # |x| below: power series; at or above: continued fraction for erfc
_SERIES_TERMS = 40  # the series' terms shrink below 1e-17 of the sum by then for |x| < 2.5
_FRACTION_DEPTH = 40  # likewise, the continued fraction has settled to ~4e-15 for x ≥ 2.5
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _erf_series(xp, x):
    """erf(x) = 2/√π · e^(-x²) · Σₙ (2x²)ⁿ · x / (1·3·5···(2n+1)).

    Every term is positive, so nothing cancels and the sum is accurate to rounding.
    """
    term = x
    total = x
    two_x_squared = 2 * x * x
    for n in range(1, _SERIES_TERMS):
        term = term * two_x_squared / (2 * n + 1)
        total = total + term
    return _TWO_OVER_SQRT_PI * xp.exp(-x * x) * total


def _erfc_continued_fraction(xp, x):
    """erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + …)))), for x > 0.

    Evaluated from the bottom up with a fixed depth; the tail is ≈ x, hence the start value.
    """
    denominator = x
    for k in range(_FRACTION_DEPTH, 0, -1):
        denominator = x + (k / 2) / denominator
    return xp.exp(-x * x) / (math.sqrt(math.pi) * denominator)


def _erf(xp, x):
    """The error function, elementwise, in x's dtype; odd, so computed on |x| and signed."""
    a = abs(x)
    out = xp.empty_like(a)
    small = a < _SERIES_LIMIT
    out[small] = _erf_series(xp, a[small])
    large = ~small  # also holds NaN, which passes through the fraction unchanged
    out[large] = 1 - _erfc_continued_fraction(xp, a[large])
    return xp.copysign(out, x)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TANH_SCALE = math.sqrt(2 / math.pi)
_TANH_CUBIC = 0.044715


class GELU(Pointwise):
    """x · Φ(x), Φ the standard normal CDF: exactly via erf, or torch's tanh approximation."""

    @staticmethod
    def f(xp, x, approximate):
        if approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(_TANH_SCALE * (x + _TANH_CUBIC * x * x * x)))
        return 0.5 * x * (1 + _erf(xp, x * _SQRT_HALF))

    @staticmethod
    def grad_f(xp, grad, x, y, approximate):
        if approximate == "tanh":
            t = xp.tanh(_TANH_SCALE * (x + _TANH_CUBIC * x * x * x))
            inner_slope = _TANH_SCALE * (1 + 3 * _TANH_CUBIC * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_slope)
        # d/dx x·Φ(x) = Φ(x) + x·φ(x), and Φ(x) = y / x is unsafe at 0, so recompute it.
        cdf = 0.5 * (1 + _erf(xp, x * _SQRT_HALF))
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return grad * (cdf + x * pdf)


# --------------------------------------------------------------------------- softmax family
def _check_dim(op: str, dim: int, ndim: int) -> int:
    """torch's rule: a 0-d tensor has one addressable dim, so dim ∈ [-max(ndim, 1), max(ndim, 1))."""
    span = max(ndim, 1)
    if not -span <= dim < span:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-span}, {span - 1}], "
            f"but got {dim})"
        )
    return dim % span


def stable_log_softmax(xp, x, axis: int):
    """x - logsumexp(x): shifting by the max first keeps every exp ≤ 1, so nothing overflows."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = array_module(x)
        shifted = xp.exp(x - x.max(axis=axis, keepdims=True))
        y = shifted / shifted.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        # The Jacobian is diag(y) - y yᵀ along the axis, so the product is y · (g - <g, y>).
        (y,) = ctx.saved_tensors
        return y * (grad - (grad * y).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        y = stable_log_softmax(array_module(x), x, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        # y = x - logsumexp(x) and ∂logsumexp/∂x = softmax = e^y, so the product is g - e^y · Σg.
        (y,) = ctx.saved_tensors
        xp = array_module(y)
        return grad - xp.exp(y) * grad.sum(axis=ctx.axis, keepdims=True), None


def _softmax_like(function, name: str, input: Tensor, dim, stacklevel: int, dtype) -> Tensor:
    if dim is None:
        # torch's legacy choice, kept for old code: dim 0 for 0-, 1- and 3-d input, else dim 1.
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. "
            "Change the call to include dim=X as an argument.",
            stacklevel=stacklevel,
        )
        dim = 0 if input.ndim in (0, 1, 3) else 1
    axis = _check_dim(name, dim, input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    if input.ndim == 0:  # a lone value is its own class: treat it as a vector of length 1
        return function.apply(input.reshape(1), 0).reshape(())
    return function.apply(input, axis)


# --------------------------------------------------------------------------- public functions
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), any shape."""
    return ReLU.apply(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), any shape."""
    return Hardtanh.apply(input, min_val=0.0, max_val=6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val], any shape."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val (got {min_val} > {max_val})")
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope · x otherwise; any shape."""
    return LeakyReLU.apply(input, negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha · (eˣ - 1) otherwise; any shape."""
    return ELU.apply(input, alpha=alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x · Φ(x) with the exact normal CDF (``approximate="none"``) or the tanh form; any shape."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either none or tanh, got {approximate!r}")
    return GELU.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x · σ(x) (also called swish), any shape."""
    return SiLU.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ), any shape."""
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent, any shape."""
    return Tanh.apply(input)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """e^x / Σ e^x along ``dim`` (same shape out); ``dtype`` casts the input first, as in torch."""
    return _softmax_like(Softmax, "softmax", input, dim, _stacklevel, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - log Σ e^x along ``dim``, computed stably (same shape out)."""
    return _softmax_like(LogSoftmax, "log_softmax", input, dim, _stacklevel, dtype)
