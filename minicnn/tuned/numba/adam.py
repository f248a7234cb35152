"""Adam's update of one parameter as ONE compiled pass, for the "numba" backend.

torch.optim.Adam's arithmetic (see :mod:`minicnn.optim.adam`) written as NumPy array code
is about twelve whole-array operations per parameter, each a Python call and a pass over
memory; LeNet-5 has ten parameters, most of them small, so at small batches a step spends
more time issuing those operations than computing them. Here the moments, the optional
AMSGrad maximum and the parameter are updated element by element in one loop.

The rounding is the array code's exactly: every operation runs in the arrays' dtype, in the
same order (the scalars are handed in already rounded to that dtype, as NumPy rounds a Python
float meeting a float32 array), and without fastmath, so no multiply-add is fused.
"""
from __future__ import annotations

import math

import numpy as np

from .kernels import helper


# Where each scalar sits in the ``scalars`` array the kernel takes: one array of the parameters'
# dtype rather than seven arguments, because Numba types a NumPy scalar argument on every call
# through a slow path, an array through a fast one.
LERP_WEIGHT, ONE_MINUS_LERP_WEIGHT, BETA2, ONE_MINUS_BETA2, SQRT_BIAS_CORRECTION2, EPS, NEG_STEP_SIZE = range(7)


@helper
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, amsgrad, scalars):
    """One Adam step in place over flat, C-contiguous arrays of one dtype; ``scalars`` in that dtype (see above).

    m = lerp(m, g, w) as torch.lerp_ (``start + w*(end - start)`` below w = 0.5, else
    ``end - (end - start)*(1 - w)``); v = v*beta2 + ((1 - beta2)*g)*g; with ``amsgrad`` the
    running maximum replaces v (NaN wins, as in np.maximum); then
    p = p + (-step_size*m) / (sqrt(v)/sqrt(bias_correction2) + eps).
    ``max_exp_avg_sq`` is only read when ``amsgrad``.
    """
    lerp_weight, one_minus_lerp_weight = scalars[LERP_WEIGHT], scalars[ONE_MINUS_LERP_WEIGHT]
    beta2, one_minus_beta2 = scalars[BETA2], scalars[ONE_MINUS_BETA2]
    sqrt_bias_correction2, eps, neg_step_size = scalars[SQRT_BIAS_CORRECTION2], scalars[EPS], scalars[NEG_STEP_SIZE]
    for k in range(param.size):
        g = grad[k]
        m = exp_avg[k]
        if abs(lerp_weight) < 0.5:
            m = m + lerp_weight * (g - m)
        else:
            m = g - (g - m) * one_minus_lerp_weight
        exp_avg[k] = m
        v = exp_avg_sq[k] * beta2 + one_minus_beta2 * g * g
        exp_avg_sq[k] = v
        if amsgrad:
            best = max_exp_avg_sq[k]
            if not (best >= v or math.isnan(best)):
                best = v
            max_exp_avg_sq[k] = best
            v = best
        param[k] = param[k] + neg_step_size * m / (np.sqrt(v) / sqrt_bias_correction2 + eps)


def _takes(array, like) -> bool:
    return (type(array) is np.ndarray and array.dtype == like.dtype and array.shape == like.shape
            and array.flags.c_contiguous and array.flags.writeable)


class FusedAdam:
    """The fused update, for the NumPy arrays of one parameter (``update`` returns False where it does not apply)."""

    def update(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lerp_weight: float, beta2: float,
               bias_correction2: float, eps: float, step_size: float) -> bool:
        """Update in place when every array is C-contiguous of param's float dtype; else do nothing, return False."""
        amsgrad = max_exp_avg_sq is not None
        if param.dtype not in (np.float32, np.float64) or not (
                _takes(param, param) and _takes(grad, param) and _takes(exp_avg, param)
                and _takes(exp_avg_sq, param) and (not amsgrad or _takes(max_exp_avg_sq, param))):
            return False
        weight = param.dtype.type(lerp_weight)
        # Each scalar rounded to the dtype as NumPy rounds a Python float meeting the array.
        scalars = np.array([weight, 1 - weight, beta2, 1 - beta2, bias_correction2**0.5, eps, -step_size],
                           dtype=param.dtype)
        maximum = max_exp_avg_sq if amsgrad else exp_avg_sq  # unread without amsgrad
        adam_update(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
                    maximum.reshape(-1), amsgrad, scalars)
        return True
