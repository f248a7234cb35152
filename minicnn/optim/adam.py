"""Adam and AdamW — torch's arithmetic, down to where eps is added.

For each parameter p with gradient g, at its step t = 1, 2, … (torch.optim.Adam)::

    g = -g                                   if maximize
    p = p * (1 - lr * weight_decay)          AdamW: decay the weights directly ("decoupled")
    g = g + weight_decay * p                 Adam: L2 penalty folded into the gradient
    m = lerp(m, g, 1 - beta1)                first moment:  beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g      second moment
    v_max = max(v_max, v)                    amsgrad only; v_max replaces v below
    denom = sqrt(v) / sqrt(1 - beta2**t) + eps
    p = p - (lr / (1 - beta1**t)) * m / denom

The two ``1 - beta**t`` factors undo the bias of m and v towards their zero start. eps is
added *after* the bias correction of sqrt(v), exactly as torch does (not to v itself).
"""
from __future__ import annotations

from typing import Any

from ..backends import array_module
from ..tensor import Tensor
from .moments import adam_moments_, bias_corrections
from .optimizer import Optimizer, ParamsT, check_hyperparameters, decayed_gradient


class Adam(Optimizer):
    """Adam (optionally AMSGrad), as ``torch.optim.Adam``.

    ``decoupled_weight_decay=True`` turns it into AdamW (torch has the same switch).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        lr, eps = group["lr"], group["eps"]
        xp = array_module(p.array)
        step = self._count_step(p)
        exp_avg, exp_avg_sq = self._state_buffer(p, "exp_avg"), self._state_buffer(p, "exp_avg_sq")
        grad = decayed_gradient(p, group)
        adam_moments_(exp_avg, exp_avg_sq, grad, group["betas"])
        if group["amsgrad"]:
            second_moment = self._state_buffer(p, "max_exp_avg_sq")
            xp.maximum(second_moment, exp_avg_sq, out=second_moment)
        else:
            second_moment = exp_avg_sq

        bias_correction1, bias_correction2 = bias_corrections(group["betas"], step)
        step_size = lr / bias_correction1
        denom = xp.sqrt(second_moment) / bias_correction2**0.5 + eps
        p.array += -step_size * exp_avg / denom  # torch's addcdiv order: (value * m) / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

