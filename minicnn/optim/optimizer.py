"""Optimizer: the bookkeeping every update rule shares.

An optimizer holds its parameters in *param groups*: dicts with a ``"params"`` list and one
value per hyperparameter (``"lr"``, ``"momentum"`` …), so that, e.g., biases can get a
different learning rate than weights. Per-parameter memory (momentum buffers, Adam's
moments) lives in ``state[param]``. A subclass writes ``_update(p, group)``, the rule for
one parameter that has a gradient (or overrides ``step`` when its rule needs more), and gets
its step count and buffers from ``_count_step`` and ``_state_buffer``; the running averages
the adaptive rules share are in ``moments.py``.

``state_dict()`` has torch's structure — parameters are replaced by their position in the
groups, because tensor identities do not survive a save/load::

    {"state": {0: {"momentum_buffer": Tensor}, ...},
     "param_groups": [{"lr": 0.1, ..., "params": [0, 1]}, ...]}

The update rules work on the raw arrays (``p.array``, ``p.grad.array``) in place, with the
array module of the parameter (NumPy or CuPy), and never record an autograd graph.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from copy import deepcopy
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd import enable_grad
from ..backends import array_module
from ..dtypes import get_default_dtype
from ..tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: param groups, per-parameter state, ``zero_grad`` and state dicts.

    ``defaults`` maps each hyperparameter name to the value a group gets when it does not
    set its own.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group; hyperparameters it leaves out come from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if p.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; each duplicate "
                "is updated once per appearance",
                stacklevel=3,
            )
        already_optimized = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in already_optimized for p in params):
            raise ValueError("some parameters appear in more than one parameter group")

        group = dict(param_group, params=params)
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``grad = None`` (default, frees the memory) or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; return ``closure()``'s loss if given."""
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        """Apply the update rule to ``p`` (which has a gradient) with its group's hyperparameters."""
        raise NotImplementedError

    def _count_step(self, p: Tensor) -> int:
        """Advance p's step count ``state["step"]`` (0 before its first update) and return it."""
        state = self.state[p]
        state["step"] = state.get("step", 0) + 1
        return state["step"]

    def _state_buffer(self, p: Tensor, name: str):
        """p's state buffer ``name`` (a moment, an accumulator) as an array, created the first
        time it is asked for as zeros shaped, typed and placed like p."""
        state = self.state[p]
        if name not in state:
            state[name] = Tensor(array_module(p.array).zeros_like(p.array))
        return state[name].array

    @staticmethod
    def _evaluate_closure(closure: Callable[[], Any] | None):
        """Re-run the forward/backward pass for optimizers that need it (as torch does)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        As in torch, the state tensors are the live ones (not copies): save or copy the dict
        before stepping again if you need a snapshot.
        """
        index_of: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            packed_groups.append(packed)
        packed_state = {index_of[id(p)]: s for p, s in self.state.items()}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state saved by ``state_dict``.

        The arrays are copied, cast to each parameter's floating dtype and placed on its
        device, so a checkpoint written from float64 CPU parameters loads onto float32 GPU
        ones. A state dict converted from torch (tensors turned into NumPy arrays) loads too.
        """
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(saved['params'])} parameters in "
                    f"the state dict and {len(group['params'])} in the optimizer"
                )
        param_of = {
            index: p
            for group, saved in zip(self.param_groups, saved_groups)
            for index, p in zip(saved["params"], group["params"])
        }
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, param_state in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(
                    f"loaded state dict has state for parameter index {index!r}, which none of "
                    f"its param_groups lists"
                )
            p = param_of[index]
            state[p] = {name: _restore_state_value(p, name, value) for name, value in param_state.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
        self.state = state
        self.param_groups = saved_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def check_hyperparameters(*, lr: float, eps: float | None = None,
                          betas: tuple[float, float] | None = None, **non_negative: float) -> None:
    """Raise torch's ValueError for a bad hyperparameter: a negative lr, eps or ``non_negative``
    value (named as torch names it: ``weight_decay`` -> "Invalid weight_decay value"), or a beta
    outside [0, 1)."""
    if not lr >= 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not eps >= 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    for name, value in non_negative.items():
        if not value >= 0.0:
            raise ValueError(f"Invalid {name} value: {value}")


def decayed_gradient(p: Tensor, group: dict[str, Any]):
    """p's gradient as the update rules use it: negated under ``maximize``, with weight decay.

    Weight decay is either an L2 term folded into the gradient (``g + weight_decay * p``,
    torch's default) or, with ``decoupled_weight_decay`` in the group (AdamW's way), a
    shrink of the weights themselves, ``p *= 1 - lr * weight_decay``, done here in place.
    Returns a new array, or ``p.grad``'s own when neither applies (never modify it).
    """
    grad = -p.grad.array if group["maximize"] else p.grad.array
    weight_decay = group["weight_decay"]
    if weight_decay != 0:
        if group.get("decoupled_weight_decay", False):
            p.array *= 1 - group["lr"] * weight_decay
        else:
            grad = grad + weight_decay * p.array
    return grad


def scalar_dtype() -> np.dtype:
    """The dtype torch gives an optimizer's scalar state (NAdam's ``mu_product``): float64 if
    that is the default dtype, else float32."""
    return np.dtype(np.float64) if np.dtype(get_default_dtype()) == np.float64 else np.dtype(np.float32)


def _restore_state_value(param: Tensor, name: str, value):
    """One saved state entry, made to live beside ``param`` (its dtype, device, shape)."""
    if isinstance(value, Tensor):
        value = value.array
    if hasattr(value, "__cuda_array_interface__"):  # CuPy: via the host, then to the param's device
        value = value.get()
    if name == "step":  # a count; torch stores it as a float tensor, minicnn as an int
        return int(value)
    if name == "mu_product":  # NAdam's running product: a scalar (a 0-d tensor in torch)
        return scalar_dtype().type(value)
    if not isinstance(value, np.ndarray):
        return value  # a Python number or other plain value
    if value.shape != param.shape:
        raise ValueError(
            f"loaded optimizer state {name!r} has shape {tuple(value.shape)}, but its parameter "
            f"has shape {tuple(param.shape)}"
        )
    dtype = param.dtype if value.dtype.kind == "f" else value.dtype
    return Tensor(array_module(param.array).array(value, dtype=dtype))
