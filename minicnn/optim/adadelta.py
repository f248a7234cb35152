"""Adadelta (Zeiler, 2012) — torch's arithmetic.

For each parameter p with gradient g (torch.optim.Adadelta)::

    g = -g                                   if maximize
    g = g + weight_decay * p                 L2 penalty folded into the gradient
    v = rho * v + (1 - rho) * g * g          running mean of g², "square_avg"
    delta = sqrt(u + eps) / sqrt(v + eps) * g
    u = rho * u + (1 - rho) * delta * delta  running mean of the steps², "acc_delta"
    p = p - lr * delta

The ratio of the two root-mean-squares gives the step the units of p, which is why the
default ``lr`` is 1.0: the rate only scales a step that is already sized.
"""
from __future__ import annotations

from typing import Any

from ..backends import array_module
from ..tensor import Tensor
from .moments import mean_of_squares_
from .optimizer import Optimizer, ParamsT, check_hyperparameters, decayed_gradient


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_hyperparameters(lr=lr, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        xp = array_module(p.array)
        self._count_step(p)
        square_avg, acc_delta = self._state_buffer(p, "square_avg"), self._state_buffer(p, "acc_delta")
        grad = decayed_gradient(p, group)

        mean_of_squares_(square_avg, grad, rho)
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
        mean_of_squares_(acc_delta, delta, rho)
        p.array += -lr * delta
