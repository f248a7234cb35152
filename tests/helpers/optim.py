"""Optimizer and scheduler test helpers shared by tests/test_optim.py and tests/test_optim_parity.py:
the same parameters and gradients for minicnn and torch, and lock-step scheduler runs."""
from __future__ import annotations

import numpy as np
import torch

import minicnn
from minicnn import optim
from parity import rand

SHAPES = [(3, 4), (5,), (2, 3)]  # the last parameter gets a gradient only every other step
# Update rules are a handful of elementwise ops per step, so agreement is tight: the
# parity tolerances scaled by 1/20 (float64 ~5e-11, float32 ~1e-6 relative).
TIGHT = 0.05


def make_params(dtype):
    """The same random starting values as minicnn and torch leaf tensors."""
    init = [rand(*shape, dtype=dtype) for shape in SHAPES]
    mini = [minicnn.tensor(a.copy(), requires_grad=True) for a in init]
    ref = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    return mini, ref


def feed_gradients(mini, ref, dtype, step):
    """Give both parameter lists the same fresh gradients; the last one skips odd steps."""
    for i, (pm, pt) in enumerate(zip(mini, ref)):
        if i == len(mini) - 1 and step % 2:
            pm.grad, pt.grad = None, None  # an optimizer must skip a parameter without grad
            continue
        g = rand(*pm.shape, dtype=dtype)
        pm.grad, pt.grad = minicnn.tensor(g.copy()), torch.tensor(g.copy())


def two_group_sgd(lib, momentum=0.9):
    """SGD over two groups with different rates (schedulers must handle each group)."""
    a = lib.tensor(np.ones(2), requires_grad=True)
    b = lib.tensor(np.ones(3), requires_grad=True)
    opt_cls = optim.SGD if lib is minicnn else torch.optim.SGD
    return opt_cls([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=momentum)


def two_group_adam(lib):
    a = lib.tensor(np.ones(2), requires_grad=True)
    b = lib.tensor(np.ones(3), requires_grad=True)
    opt_cls = optim.Adam if lib is minicnn else torch.optim.Adam
    return opt_cls([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)


def groups_snapshot(opt):
    """What a schedule may change: the rate and (OneCycleLR) the momentum or beta1 per group."""
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def step_both(mini_opt, mini_sched, torch_opt, torch_sched, epochs):
    for epoch in range(epochs):
        mini_opt.step()  # no gradients: nothing moves, but the order optimizer→scheduler is kept
        torch_opt.step()
        mini_sched.step()
        torch_sched.step()
        assert mini_sched.get_last_lr() == torch_sched.get_last_lr(), f"epoch {epoch + 1}"
        assert groups_snapshot(mini_opt) == groups_snapshot(torch_opt), f"epoch {epoch + 1}"
