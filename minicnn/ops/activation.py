"""The Functions behind the activations: elementwise nonlinearities, softmax and log_softmax.

Every elementwise activation is a small :class:`Pointwise` Function that states its value
``f(x)`` and its backward ``grad · f'(x)`` next to each other; the backward reads whichever of
``x`` and ``y = f(x)`` gives the simpler formula (``tanh' = 1 - y²``, ``relu' = [x > 0]``).
Derivatives at the kinks follow torch: relu, relu6 and hardtanh pass no gradient at their
corners, leaky_relu and elu use the negative side's slope at exactly 0.

They sit below both the Tensor methods (``x.relu()``, ``x.softmax(1)``) and
:mod:`minicnn.functional.activation`, which check arguments and call them.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..backends.arrays import array_module


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
        return xp.clip(x, min_val, max_val).astype(x.dtype, copy=False)  # integers stay integers

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
def _shifted(x, axis: int):
    """x minus its max along ``axis``, so every exp is ≤ 1; an empty x has no max and needs none."""
    return x - x.max(axis=axis, keepdims=True) if x.size else x


def stable_log_softmax(xp, x, axis: int):
    """x - logsumexp(x): shifting by the max first keeps every exp ≤ 1, so nothing overflows."""
    shifted = _shifted(x, axis)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = array_module(x)
        shifted = xp.exp(_shifted(x, axis))
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
