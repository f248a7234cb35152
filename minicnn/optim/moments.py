"""Running averages and bias corrections that the adaptive optimizers share — torch's rounding.

Adam, NAdam and RAdam keep the same two moments of the gradient g (a mean m and a mean of
squares v); Adadelta and RMSprop keep the mean of squares alone. Each helper works in place on
the raw arrays (NumPy or CuPy, shaped like the parameter) and rounds exactly as torch's
in-place ops do, which is what lets the optimizers agree with torch to the last bit in float64.
"""
from __future__ import annotations


def lerp_(start, end, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded as ``torch.lerp_`` rounds it.

    torch switches formula at weight 0.5 so that the result is exact at both ends (weight
    0 gives start, weight 1 gives end). The weight is rounded to the arrays' dtype first, as
    torch does for a float32 tensor.
    """
    w = start.dtype.type(weight)
    if abs(w) < 0.5:
        start += w * (end - start)
    else:
        start[...] = end - (end - start) * (1 - w)


def mean_of_squares_(avg, x, decay: float) -> None:
    """``avg = decay * avg + (1 - decay) * x * x`` in place.

    torch writes it ``avg.mul_(decay).addcmul_(x, x, value=1 - decay)``, whose product is
    rounded as ``((1 - decay) * x) * x``; the two in-place steps here keep that order.
    """
    avg *= decay
    avg += (1 - decay) * x * x


def adam_moments_(exp_avg, exp_avg_sq, grad, betas: tuple[float, float]) -> None:
    """Adam's two moments in place: ``m = lerp(m, g, 1 - beta1)`` (= beta1 m + (1 - beta1) g)
    and ``v = beta2 v + (1 - beta2) g g``."""
    beta1, beta2 = betas
    lerp_(exp_avg, grad, 1 - beta1)
    mean_of_squares_(exp_avg_sq, grad, beta2)


def bias_corrections(betas: tuple[float, float], step: int) -> tuple[float, float]:
    """``(1 - beta1**t, 1 - beta2**t)`` at step t = 1, 2, …: dividing m and v by these undoes
    their bias towards the zeros they start from."""
    beta1, beta2 = betas
    return 1 - beta1**step, 1 - beta2**step
