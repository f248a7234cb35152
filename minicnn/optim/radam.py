"""RAdam (Liu et al., 2019): Adam whose adaptive rate is switched on once its variance is known.

For each parameter p with gradient g, at its step t = 1, 2, … (torch.optim.RAdam)::

    g = -g                                   if maximize
    p = p * (1 - lr * weight_decay)          decoupled_weight_decay (RAdamW)
    g = g + weight_decay * p                 otherwise: L2 penalty folded into the gradient
    m = lerp(m, g, 1 - beta1)
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1            length of the SMA that v approximates
    rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
    if rho_t > 5:                            the variance of the adaptive rate is finite
        r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        p = p - m_hat * lr * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r
    else:                                    the first few steps: plain momentum SGD
        p = p - m_hat * lr
"""
from __future__ import annotations

from typing import Any

from ..backends import array_module
from ..tensor import Tensor
from .moments import adam_moments_, bias_corrections
from .optimizer import Optimizer, ParamsT, check_hyperparameters, decayed_gradient


class RAdam(Optimizer):
    """RAdam (RAdamW with ``decoupled_weight_decay=True``), as ``torch.optim.RAdam``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ):
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        lr, (_, beta2), eps = group["lr"], group["betas"], group["eps"]
        xp = array_module(p.array)
        step = self._count_step(p)
        exp_avg, exp_avg_sq = self._state_buffer(p, "exp_avg"), self._state_buffer(p, "exp_avg_sq")
        grad = decayed_gradient(p, group)

        adam_moments_(exp_avg, exp_avg_sq, grad, group["betas"])
        bias_correction1, bias_correction2 = bias_corrections(group["betas"], step)
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            # torch computes ``number / tensor`` as ``tensor.reciprocal() * number``
            adaptive_lr = (1 / (xp.sqrt(exp_avg_sq) + eps)) * bias_correction2**0.5
            p.array += -(bias_corrected_exp_avg * lr * adaptive_lr * rect)
        else:
            p.array += -(bias_corrected_exp_avg * lr)
