"""NAdam (Dozat, 2016): Adam with Nesterov momentum — torch's arithmetic.

For each parameter p with gradient g, at its step t = 1, 2, … (torch.optim.NAdam)::

    g = -g                                   if maximize
    p = p * (1 - lr * weight_decay)          decoupled_weight_decay (NAdamW)
    g = g + weight_decay * p                 otherwise: L2 penalty folded into the gradient
    mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))      momentum warm-up schedule
    P_t = mu_1 * mu_2 * ... * mu_t                               "mu_product"
    m = lerp(m, g, 1 - beta1)
    v = beta2 * v + (1 - beta2) * g * g
    denom = sqrt(v / (1 - beta2**t)) + eps
    p = p - lr * (1 - mu_t) / (1 - P_t) * g / denom
          - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / denom

The second term looks one step ahead (mu_{t+1}): that is the Nesterov part. torch keeps
``mu_product`` as a 0-d tensor of its *scalar* dtype — float32 unless the default dtype is
float64 — so the product is rounded to float32 at every step; minicnn keeps it as a NumPy
scalar of the same dtype, so the two agree to the last bit.
"""
from __future__ import annotations

from typing import Any

from ..backends import array_module
from ..tensor import Tensor
from .moments import adam_moments_, bias_corrections
from .optimizer import Optimizer, ParamsT, check_hyperparameters, decayed_gradient, scalar_dtype


class NAdam(Optimizer):
    """NAdam (NAdamW with ``decoupled_weight_decay=True``), as ``torch.optim.NAdam``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ):
        check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay,
                              momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        lr, (beta1, _), eps = group["lr"], group["betas"], group["eps"]
        momentum_decay = group["momentum_decay"]
        xp = array_module(p.array)
        state = self.state[p]
        step = self._count_step(p)
        exp_avg, exp_avg_sq = self._state_buffer(p, "exp_avg"), self._state_buffer(p, "exp_avg_sq")
        grad = decayed_gradient(p, group)

        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product = state.get("mu_product", scalar_dtype().type(1.0)) * mu  # rounded to its dtype
        state["mu_product"] = mu_product
        mu_product_next = float(mu_product) * mu_next
        adam_moments_(exp_avg, exp_avg_sq, grad, group["betas"])
        _, bias_correction2 = bias_corrections(group["betas"], step)
        denom = xp.sqrt(exp_avg_sq / bias_correction2) + eps
        p.array += (-lr * (1.0 - mu) / (1.0 - float(mu_product))) * grad / denom
        p.array += ((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg / denom

