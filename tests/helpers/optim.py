"""Optimizer and scheduler test helpers shared by tests/test_optim.py and tests/test_optim_parity.py:
the same parameters and gradients for minicnn and torch, step-by-step and state comparisons,
checkpoint round trips, and lock-step scheduler runs."""
from __future__ import annotations

import numpy as np
import torch

import minicnn
from minicnn import optim
from minicnn.optim import lr_scheduler
from parity import assert_close, rand

SHAPES = [(3, 4), (5,), (2, 3)]  # the last parameter gets a gradient only every other step
# Update rules are a handful of elementwise ops per step, so agreement is tight: the
# parity tolerances scaled by 1/20 (float64 ~5e-11, float32 ~1e-6 relative).
TIGHT = 0.05
IMPLEMENTATION_KNOBS = {"foreach", "capturable", "differentiable", "fused"}  # torch's kernels, not the rule


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


def leaf_copies(params):
    """Fresh minicnn leaves holding copies of ``params``' values (minicnn or torch tensors)."""
    return [minicnn.tensor(np.array(p.detach().numpy()), requires_grad=True) for p in params]


def run_and_compare(mini_opt, mini, torch_opt, ref, dtype, steps=10, first_step=0, scale_rtol=TIGHT):
    """Step both optimizers on the same gradients; the parameters must agree after every step."""
    for step in range(first_step, first_step + steps):
        feed_gradients(mini, ref, dtype, step)
        mini_opt.step()
        torch_opt.step()
        for k, (pm, pt) in enumerate(zip(mini, ref)):
            assert_close(pm, pt, dtype, f"param {k} after step {step + 1}", scale_rtol=scale_rtol)


def compare_state(mini_opt, mini, torch_opt, ref, dtype, scale_rtol=TIGHT):
    """Every state entry equals torch's: buffers as arrays, ``step`` as a count, scalars as numbers."""
    for k, (pm, pt) in enumerate(zip(mini, ref)):
        mini_state, torch_state = mini_opt.state[pm], torch_opt.state[pt]
        assert set(mini_state) == set(torch_state), f"param {k}: state keys"
        for name, value in torch_state.items():
            if name == "step":
                assert mini_state[name] == int(value.item())
            elif value.dim() == 0:  # NAdam's mu_product: same dtype, same value to the bit
                assert np.dtype(type(mini_state[name])) == np.dtype(str(value.dtype).removeprefix("torch."))
                assert float(mini_state[name]) == value.item(), f"param {k}: state {name}"
            else:
                assert_close(mini_state[name], value, dtype, f"param {k}: state {name}", scale_rtol=scale_rtol)


def check_checkpoint_round_trip(name, kwargs, dtype, tmp_path, scale_rtol=TIGHT):
    """4 steps, ``state_dict()`` (torch's structure) through a file, then 6 more steps.

    The state is loaded into a fresh optimizer built with another lr (0.5) over copies of the
    parameters: loading must restore the hyperparameters as well as the buffers, so the
    resumed run goes on exactly as torch's uninterrupted one.
    """
    mini, ref = make_params(dtype)
    mini_opt, torch_opt = getattr(optim, name)(mini, **kwargs), getattr(torch.optim, name)(ref, **kwargs)
    run_and_compare(mini_opt, mini, torch_opt, ref, dtype, steps=4, scale_rtol=scale_rtol)

    state, torch_state = mini_opt.state_dict(), torch_opt.state_dict()
    assert sorted(state["state"]) == sorted(torch_state["state"]) == [0, 1, 2]
    for i in state["state"]:
        assert set(state["state"][i]) == set(torch_state["state"][i])
    assert [g["params"] for g in state["param_groups"]] == [g["params"] for g in torch_state["param_groups"]]
    assert [set(g) for g in state["param_groups"]] == [
        set(g) - IMPLEMENTATION_KNOBS for g in torch_state["param_groups"]]
    minicnn.save({"optimizer": state}, tmp_path / "ckpt.npz")
    loaded = minicnn.load(tmp_path / "ckpt.npz")["optimizer"]

    resumed = leaf_copies(mini)
    resumed_opt = getattr(optim, name)(resumed, lr=0.5)
    resumed_opt.load_state_dict(loaded)
    assert resumed_opt.param_groups[0]["lr"] == kwargs["lr"]
    run_and_compare(resumed_opt, resumed, torch_opt, ref, dtype, steps=6, first_step=4, scale_rtol=scale_rtol)
    compare_state(resumed_opt, resumed, torch_opt, ref, dtype, scale_rtol=scale_rtol)


def check_continues_from_numpy_torch_state(name, kwargs, dtype, scale_rtol=TIGHT):
    """torch takes 5 steps; its state dict with every tensor turned into a NumPy array (what a
    checkpoint read without torch holds) loads into a minicnn optimizer over copies of torch's
    parameters, and the next 5 steps and the final state agree with torch's."""
    mini, ref = make_params(dtype)
    torch_opt = getattr(torch.optim, name)(ref, **kwargs)
    for step in range(5):
        feed_gradients(mini, ref, dtype, step)
        torch_opt.step()
    torch_state = torch_opt.state_dict()
    converted = {
        "state": {i: {k: v.numpy() for k, v in s.items()} for i, s in torch_state["state"].items()},
        "param_groups": torch_state["param_groups"],
    }
    resumed = leaf_copies(ref)
    mini_opt = getattr(optim, name)(resumed, **kwargs)
    mini_opt.load_state_dict(converted)
    run_and_compare(mini_opt, resumed, torch_opt, ref, dtype, steps=5, first_step=5, scale_rtol=scale_rtol)
    compare_state(mini_opt, resumed, torch_opt, ref, dtype, scale_rtol=scale_rtol)


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


def schedules_on_both(make_optimizer, name, kwargs):
    """``(mini_opt, mini_sched, torch_opt, torch_sched)``: scheduler ``name`` with ``kwargs``
    over ``make_optimizer(lib)``'s optimizer, in minicnn and in torch."""
    mini_opt, torch_opt = make_optimizer(minicnn), make_optimizer(torch)
    mini_sched = getattr(lr_scheduler, name)(mini_opt, **kwargs)
    torch_sched = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    return mini_opt, mini_sched, torch_opt, torch_sched


def check_schedule_resumes(make_optimizer, name, kwargs, tmp_path, before, after):
    """``before`` epochs in lock step; the optimizer's and scheduler's state dicts (torch's keys)
    through a file into fresh ones; then ``after`` more epochs still in step with torch's run."""
    mini_opt, mini_sched, torch_opt, torch_sched = schedules_on_both(make_optimizer, name, kwargs)
    step_both(mini_opt, mini_sched, torch_opt, torch_sched, before)
    assert set(mini_sched.state_dict()) == set(torch_sched.state_dict()) - {"_get_lr_called_within_step"}
    minicnn.save({"optimizer": mini_opt.state_dict(), "scheduler": mini_sched.state_dict()}, tmp_path / "c.npz")

    checkpoint = minicnn.load(tmp_path / "c.npz")
    resumed_opt = make_optimizer(minicnn)
    resumed_sched = getattr(lr_scheduler, name)(resumed_opt, **kwargs)  # torch's order: scheduler first
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    resumed_sched.load_state_dict(checkpoint["scheduler"])
    assert resumed_sched.last_epoch == before
    step_both(resumed_opt, resumed_sched, torch_opt, torch_sched, after)


def step_both(mini_opt, mini_sched, torch_opt, torch_sched, epochs):
    for epoch in range(epochs):
        mini_opt.step()  # no gradients: nothing moves, but the order optimizer→scheduler is kept
        torch_opt.step()
        mini_sched.step()
        torch_sched.step()
        assert mini_sched.get_last_lr() == torch_sched.get_last_lr(), f"epoch {epoch + 1}"
        assert groups_snapshot(mini_opt) == groups_snapshot(torch_opt), f"epoch {epoch + 1}"
