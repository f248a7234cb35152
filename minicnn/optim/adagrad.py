"""Adagrad (Duchi et al., 2011) — torch's arithmetic.

For each parameter p with gradient g, at its step t = 1, 2, … (torch.optim.Adagrad)::

    g = -g                                   if maximize
    g = g + weight_decay * p                 L2 penalty folded into the gradient
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g                            "sum", starts at initial_accumulator_value
    p = p - clr * g / (sqrt(s) + eps)

Every coordinate's rate shrinks with the sum of its own squared gradients, so rarely
updated coordinates keep large steps.
"""
from __future__ import annotations

from typing import Any

from ..backends import array_module
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_hyperparameters, decayed_gradient


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    As in torch, the state of every parameter (``step`` 0 and the ``sum``) is created by the
    constructor, not at the first step, so ``state_dict()`` lists all parameters at once.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        check_hyperparameters(lr=lr, eps=eps, lr_decay=lr_decay, weight_decay=weight_decay,
                              initial_accumulator_value=initial_accumulator_value)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                xp = array_module(p.array)
                self.state[p]["step"] = 0
                self.state[p]["sum"] = Tensor(xp.full_like(p.array, group["initial_accumulator_value"]))

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        xp = array_module(p.array)
        step = self._count_step(p)
        grad = decayed_gradient(p, group)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = self.state[p]["sum"].array
        state_sum += grad * grad
        p.array += -clr * grad / (xp.sqrt(state_sum) + group["eps"])
