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


@helper
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, amsgrad, lerp_weight, one_minus_lerp_weight,
                beta2, one_minus_beta2, sqrt_bias_correction2, eps, neg_step_size):
    """One Adam step in place over flat, C-contiguous arrays of one dtype (scalars in that dtype).

    m = lerp(m, g, w) as torch.lerp_ (``start + w*(end - start)`` below w = 0.5, else
    ``end - (end - start)*(1 - w)``); v = v*beta2 + ((1 - beta2)*g)*g; with ``amsgrad`` the
    running maximum replaces v (NaN wins, as in np.maximum); then
    p = p + (-step_size*m) / (sqrt(v)/sqrt(bias_correction2) + eps).
    ``max_exp_avg_sq`` is only read when ``amsgrad``.
    """
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


class FusedAdam:
    """The fused update, for the NumPy arrays of one parameter (``update`` returns False where it does not apply)."""

    def update(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lerp_weight: float, beta2: float,
               bias_correction2: float, eps: float, step_size: float) -> bool:
        """Update in place when every array is C-contiguous of param's float dtype; else do nothing, return False."""
        arrays = (param, grad, exp_avg, exp_avg_sq) + ((max_exp_avg_sq,) if max_exp_avg_sq is not None else ())
        dtype = param.dtype
        if dtype not in (np.float32, np.float64) or not all(
                isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
                and a.shape == param.shape for a in arrays):
            return False
        scalar = dtype.type
        flat = [a.reshape(-1) for a in arrays]
        maximum = flat[4] if max_exp_avg_sq is not None else flat[3]  # unread without amsgrad
        weight = scalar(lerp_weight)
        adam_update(flat[0], flat[1], flat[2], flat[3], maximum, max_exp_avg_sq is not None, weight, 1 - weight,
                    scalar(beta2), scalar(1 - beta2), scalar(bias_correction2**0.5), scalar(eps), scalar(-step_size))
        return True
