"""RMSprop (Hinton's lecture notes), optionally centered and with momentum — torch's arithmetic.

For each parameter p with gradient g (torch.optim.RMSprop)::

    g = -g                                   if maximize
    g = g + weight_decay * p                 L2 penalty folded into the gradient
    v = alpha * v + (1 - alpha) * g * g      running mean of g², "square_avg"
    m = lerp(m, g, 1 - alpha)                centered only: running mean of g, "grad_avg"
    avg = sqrt(v - m * m) + eps              centered (an estimate of g's standard deviation)
    avg = sqrt(v) + eps                      otherwise
    b = momentum * b + g / avg               with momentum > 0 ("momentum_buffer");
    p = p - lr * b                           then step along b
    p = p - lr * g / avg                     without momentum
"""
from __future__ import annotations

from typing import Any

from ..backends import array_module
from ..tensor import Tensor
from .moments import lerp_, mean_of_squares_
from .optimizer import Optimizer, ParamsT, check_hyperparameters, decayed_gradient


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        maximize: bool = False,  # positional in torch too
    ):
        check_hyperparameters(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        xp = array_module(p.array)
        self._count_step(p)
        grad = decayed_gradient(p, group)

        square_avg = self._state_buffer(p, "square_avg")
        mean_of_squares_(square_avg, grad, alpha)
        if group["centered"]:
            grad_avg = self._state_buffer(p, "grad_avg")
            lerp_(grad_avg, grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buffer = self._state_buffer(p, "momentum_buffer")
            buffer *= momentum
            buffer += grad / avg
            p.array += -lr * buffer
        else:
            p.array += -lr * grad / avg
