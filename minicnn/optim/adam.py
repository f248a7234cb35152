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

from typing import Any, Callable

from ..backends import array_module
from ..tensor import Tensor
from .fused import fused_update
from .optimizer import Optimizer, ParamsT


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
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None):
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        xp = array_module(p.array)
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = Tensor(xp.zeros_like(p.array))
            state["exp_avg_sq"] = Tensor(xp.zeros_like(p.array))
            if amsgrad:
                state["max_exp_avg_sq"] = Tensor(xp.zeros_like(p.array))
        state["step"] += 1
        step = state["step"]
        param, exp_avg, exp_avg_sq = p.array, state["exp_avg"].array, state["exp_avg_sq"].array

        grad = -p.grad.array if group["maximize"] else p.grad.array
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param

        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        max_exp_avg_sq = state["max_exp_avg_sq"].array if amsgrad else None
        if fused_update("adam", param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lerp_weight=1 - beta1,
                        beta2=beta2, bias_correction2=bias_correction2, eps=eps, step_size=step_size):
            return  # the same arithmetic in one compiled pass (minicnn.optim.fused)

        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad  # torch's addcmul order: (value * g) * g
        if amsgrad:
            second_moment = max_exp_avg_sq
            xp.maximum(second_moment, exp_avg_sq, out=second_moment)
        else:
            second_moment = exp_avg_sq

        denom = xp.sqrt(second_moment) / bias_correction2**0.5 + eps
        param += -step_size * exp_avg / denom  # torch's addcdiv order: (value * m) / denom


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


def _lerp_(start, end, weight: float) -> None:
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
