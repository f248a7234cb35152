"""SGD with momentum, dampening, Nesterov momentum and L2 weight decay — torch's arithmetic.

For each parameter p with gradient g (torch.optim.SGD, step t = 1, 2, …)::

    g = -g                           if maximize
    g = g + weight_decay * p         (L2 penalty folded into the gradient)
    b = g                            at the first step (no dampening on it)
    b = momentum * b + (1 - dampening) * g          afterwards
    g = g + momentum * b  if nesterov  else  b      (only when momentum != 0)
    p = p - lr * g
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_hyperparameters, decayed_gradient


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        check_hyperparameters(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        grad = decayed_gradient(p, group)
        if group["momentum"] != 0:
            grad = self._apply_momentum(p, grad, group["momentum"], group["dampening"], group["nesterov"])
        p.array -= group["lr"] * grad

    def _apply_momentum(self, p: Tensor, grad, momentum: float, dampening: float, nesterov: bool):
        """Update p's momentum buffer with ``grad``; return the direction to step along."""
        state = self.state[p]
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = Tensor(grad.copy())
        else:
            buffer.array *= momentum
            buffer.array += (1 - dampening) * grad
        return grad + momentum * buffer.array if nesterov else buffer.array
