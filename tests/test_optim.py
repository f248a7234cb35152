"""Optimizers and LR schedulers against torch.optim: same start, same gradients, same numbers.

Each optimizer test builds the same parameters in both libraries, feeds both the same
random gradient sequence (set by hand, so no model is involved) and compares the
parameters and the optimizer state after every step.
"""
from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch

import minicnn
from minicnn import optim
from minicnn.optim import lr_scheduler
from helpers.optim import (
    check_checkpoint_round_trip, check_continues_from_numpy_torch_state, check_schedule_resumes, compare_state,
    make_params, run_and_compare, schedules_on_both, step_both, two_group_adam, two_group_sgd,
)
from parity import assert_close, rand


# ---------------------------------------------------------------------- SGD
def _sgd_configs():
    for momentum, dampening, nesterov, weight_decay, maximize in itertools.product(
        (0.0, 0.9), (0.0, 0.3), (False, True), (0.0, 0.05), (False, True)
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue  # torch rejects these; tested in test_bad_hyperparameters
        yield dict(momentum=momentum, dampening=dampening, nesterov=nesterov,
                   weight_decay=weight_decay, maximize=maximize)


@pytest.mark.parametrize("config", list(_sgd_configs()), ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_sgd_matches_torch(config, dtype):
    mini, ref = make_params(dtype)
    mini_opt, torch_opt = optim.SGD(mini, lr=0.1, **config), torch.optim.SGD(ref, lr=0.1, **config)
    run_and_compare(mini_opt, mini, torch_opt, ref, dtype)
    compare_state(mini_opt, mini, torch_opt, ref, dtype)


# ---------------------------------------------------------------------- Adam / AdamW
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.3, 0.99)], ids=["betas-default", "beta1-below-half"])
@pytest.mark.parametrize("maximize", [False, True], ids=["min", "max"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1], ids=["wd0", "wd0.1"])
@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_matches_torch(name, amsgrad, weight_decay, maximize, betas, dtype):
    mini, ref = make_params(dtype)
    kwargs = dict(lr=0.01, betas=betas, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
    mini_opt, torch_opt = getattr(optim, name)(mini, **kwargs), getattr(torch.optim, name)(ref, **kwargs)
    run_and_compare(mini_opt, mini, torch_opt, ref, dtype)
    compare_state(mini_opt, mini, torch_opt, ref, dtype)


@pytest.mark.parametrize("eps", [1e-8, 0.3])
def test_adam_eps_is_added_after_the_bias_correction(eps, dtype):
    """A large eps makes eps's placement (inside/outside sqrt, before/after correction) visible."""
    mini, ref = make_params(dtype)
    run_and_compare(optim.Adam(mini, lr=0.05, eps=eps), mini, torch.optim.Adam(ref, lr=0.05, eps=eps), ref, dtype)


def test_adamw_defaults_match_torch():
    mini_opt = optim.AdamW([minicnn.tensor([1.0], requires_grad=True)])
    torch_opt = torch.optim.AdamW([torch.tensor([1.0], requires_grad=True)])
    for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert mini_opt.defaults[key] == torch_opt.defaults[key], key
    assert mini_opt.defaults["decoupled_weight_decay"] is True


# ---------------------------------------------------------------------- param groups
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_param_groups_with_their_own_hyperparameters(name, dtype):
    mini, ref = make_params(dtype)
    extra = {"momentum": 0.5} if name == "SGD" else {"betas": (0.8, 0.99)}

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": 0.3, **extra}]

    mini_opt = getattr(optim, name)(groups(mini), lr=0.05)
    torch_opt = getattr(torch.optim, name)(groups(ref), lr=0.05)
    assert [g["lr"] for g in mini_opt.param_groups] == [0.05, 0.3]
    run_and_compare(mini_opt, mini, torch_opt, ref, dtype)


def test_add_param_group_takes_defaults_for_missing_hyperparameters():
    a, b = (minicnn.tensor(rand(3), requires_grad=True) for _ in range(2))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [b]
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9


# ---------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
])
def test_state_dict_round_trip_through_a_checkpoint_continues_identically(name, kwargs, dtype, tmp_path):
    check_checkpoint_round_trip(name, kwargs, dtype, tmp_path)


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True))])
def test_loads_a_torch_state_dict_converted_to_numpy(name, kwargs, dtype):
    check_continues_from_numpy_torch_state(name, kwargs, dtype)


def test_load_state_dict_casts_to_the_parameter_dtype_and_copies():
    p64 = minicnn.tensor(rand(4), requires_grad=True)
    opt64 = optim.SGD([p64], lr=0.1, momentum=0.9)
    p64.grad = minicnn.tensor(rand(4))
    opt64.step()
    p32 = minicnn.tensor(rand(4, dtype=np.float32), requires_grad=True)
    opt32 = optim.SGD([p32], lr=0.1, momentum=0.9)
    opt32.load_state_dict(opt64.state_dict())
    buffer32 = opt32.state[p32]["momentum_buffer"]
    assert buffer32.dtype == np.float32
    np.testing.assert_allclose(buffer32.numpy(), opt64.state[p64]["momentum_buffer"].numpy(), rtol=1e-6)
    buffer32.array[...] = 0  # a copy: the source optimizer's buffer is untouched
    assert np.abs(opt64.state[p64]["momentum_buffer"].numpy()).min() > 0


def test_load_state_dict_rejects_mismatched_structure():
    a, b = (minicnn.tensor(rand(3), requires_grad=True) for _ in range(2))
    c = minicnn.tensor(rand(2, 2), requires_grad=True)
    source = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = minicnn.tensor(rand(3)), minicnn.tensor(rand(3))
    source.step()
    state = source.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match=r"'momentum_buffer' has shape \(3,\), but its parameter has shape \(2, 2\)"):
        optim.SGD([a, c], lr=0.1).load_state_dict(state)


# ---------------------------------------------------------------------- zero_grad, closure
def test_zero_grad_semantics():
    a, b = (minicnn.tensor(rand(3), requires_grad=True) for _ in range(2))
    opt = optim.SGD([a, b], lr=0.1)
    (a * b).sum().backward()
    grad_object = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad_object and not a.grad.numpy().any() and not b.grad.numpy().any()
    (a * b).sum().backward()  # accumulates onto the zeros: d(a·b)/da = b exactly
    np.testing.assert_array_equal(a.grad.numpy(), b.numpy())
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    opt.zero_grad()  # no grads at all: nothing to do, no error
    opt.step()  # params without grads are skipped


def test_step_with_closure_returns_the_loss_and_records_a_graph_even_under_no_grad():
    start = rand(4)
    mini_p = minicnn.tensor(start.copy(), requires_grad=True)
    torch_p = torch.tensor(start.copy(), requires_grad=True)

    def closure_for(p, opt):
        def closure():
            opt.zero_grad()
            loss = (p * p * p).sum()
            loss.backward()
            return loss
        return closure

    mini_opt, torch_opt = optim.SGD([mini_p], lr=0.05), torch.optim.SGD([torch_p], lr=0.05)
    for _ in range(3):
        with minicnn.no_grad():
            mini_loss = mini_opt.step(closure_for(mini_p, mini_opt))
        torch_loss = torch_opt.step(closure_for(torch_p, torch_opt))
        assert_close(mini_loss, torch_loss, np.float64, "closure loss")
    assert_close(mini_p, torch_p, np.float64, "param after closure steps")


def test_repr_lists_each_group():
    text = repr(optim.SGD([minicnn.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text and "momentum: 0.9" in text


# ---------------------------------------------------------------------- errors
def _leaf():
    return minicnn.tensor(rand(2), requires_grad=True)


@pytest.mark.parametrize("make, error, message", [
    (lambda: optim.SGD([_leaf()], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda: optim.SGD([_leaf()], momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda: optim.SGD([_leaf()], weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda: optim.SGD([_leaf()], nesterov=True), ValueError, "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: optim.SGD([_leaf()], momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda: optim.Adam([_leaf()], lr=-1e-3), ValueError, "Invalid learning rate: -0.001"),
    (lambda: optim.Adam([_leaf()], eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (lambda: optim.Adam([_leaf()], betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda: optim.AdamW([_leaf()], betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (lambda: optim.AdamW([_leaf()], weight_decay=-0.01), ValueError, "Invalid weight_decay value: -0.01"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
    (lambda: optim.Adam(iter([])), ValueError, "optimizer got an empty parameter list"),
    (lambda: optim.SGD(_leaf(), lr=0.1), TypeError, "should be an iterable of Tensors or dicts, but got Tensor"),
    (lambda: optim.SGD([np.zeros(2)], lr=0.1), TypeError, "can only optimize Tensors, but one of the params is ndarray"),
    (lambda: optim.SGD([_leaf() * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda: optim.SGD([{"params": {_leaf()}}], lr=0.1), TypeError, "Please use a list instead"),
])
def test_bad_arguments_raise_torch_errors(make, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_torch_raises_the_same_messages():
    """The messages above are torch's own, checked here so the two cannot drift apart."""
    t = torch.zeros(2, requires_grad=True)
    for make, message in [
        (lambda: torch.optim.SGD([t], lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda: torch.optim.Adam([t], betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
        (lambda: torch.optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
        (lambda: torch.optim.SGD([t * 2], lr=0.1), "can't optimize a non-leaf Tensor"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            make()


def test_a_parameter_in_two_groups_is_rejected():
    p = _leaf()
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


# ---------------------------------------------------------------------- LR schedulers
def _lambda_schedule(epoch):
    return 0.95**epoch


SCHEDULES = {
    "StepLR": (two_group_sgd, "StepLR", dict(step_size=4, gamma=0.5)),
    "MultiStepLR": (two_group_sgd, "MultiStepLR", dict(milestones=[3, 7, 7, 15], gamma=0.3)),
    "ExponentialLR": (two_group_sgd, "ExponentialLR", dict(gamma=0.9)),
    "CosineAnnealingLR": (two_group_sgd, "CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    "CosineAnnealingLR-T5": (two_group_sgd, "CosineAnnealingLR", dict(T_max=5)),
    "LambdaLR": (two_group_sgd, "LambdaLR", dict(lr_lambda=_lambda_schedule)),
    "LambdaLR-per-group": (two_group_sgd, "LambdaLR", dict(lr_lambda=[_lambda_schedule, lambda e: 1 / (1 + e)])),
    "OneCycleLR": (two_group_sgd, "OneCycleLR", dict(max_lr=[1.0, 0.5], total_steps=31)),
    "OneCycleLR-linear-3phase-adam": (
        two_group_adam, "OneCycleLR",
        dict(max_lr=0.3, epochs=3, steps_per_epoch=11, anneal_strategy="linear", three_phase=True)),
}


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedule_matches_torch_exactly_over_30_steps(schedule):
    mini_opt, mini_sched, torch_opt, torch_sched = schedules_on_both(*SCHEDULES[schedule])
    assert mini_sched.get_last_lr() == torch_sched.get_last_lr()
    assert mini_sched.base_lrs == torch_sched.base_lrs
    step_both(mini_opt, mini_sched, torch_opt, torch_sched, 30)


@pytest.mark.parametrize("schedule", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR", "LambdaLR"])
def test_schedule_resumes_from_a_checkpoint(schedule, tmp_path):
    check_schedule_resumes(*SCHEDULES[schedule], tmp_path, before=12, after=18)


PLATEAU_CONFIGS = [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(mode="max", patience=0, threshold=0.1, cooldown=1, min_lr=[0.02, 0.001]),
    dict(patience=1, factor=0.5, min_lr=0.03, eps=1e-3),
]


@pytest.mark.parametrize("config", PLATEAU_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "defaults")
def test_reduce_lr_on_plateau_matches_torch(config):
    # A metric that improves, stalls, wobbles within the threshold and improves again.
    metrics = [1.0, 0.8, 0.8, 0.81, 0.79, 0.795, 0.85, 0.6, 0.6, 0.6, 0.6, 0.61, 0.5] * 3
    mini_opt, torch_opt = two_group_sgd(minicnn), two_group_sgd(torch)
    mini_sched = lr_scheduler.ReduceLROnPlateau(mini_opt, **config)
    torch_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **config)
    for epoch, metric in enumerate(metrics):
        mini_sched.step(minicnn.tensor(metric))  # a 0-d tensor works as well as a float
        torch_sched.step(metric)
        assert mini_sched.get_last_lr() == torch_sched.get_last_lr(), f"epoch {epoch + 1}"
        assert (mini_sched.num_bad_epochs, mini_sched.cooldown_counter) == (
            torch_sched.num_bad_epochs, torch_sched.cooldown_counter)


def test_cosine_annealing_follows_the_closed_form_within_one_period():
    """Hand arithmetic: eta_min + (base - eta_min) * (1 + cos(pi t / T)) / 2 for t <= T."""
    opt = optim.SGD([_leaf()], lr=0.2)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for t in range(1, 11):
        sched.step()
        expected = 0.01 + (0.2 - 0.01) * (1 + math.cos(math.pi * t / 10)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)


class WarmupFactor:
    """A callable object: LambdaLR saves its attributes (a plain function has none worth saving)."""

    def __init__(self, warmup):
        self.warmup = warmup

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.warmup)


def test_lambda_lr_state_dict_keeps_callable_objects_attributes_as_torch_does():
    def make(lib, warmup):
        return two_group_sgd(lib), [WarmupFactor(warmup), _lambda_schedule]

    mini_opt, mini_fns = make(minicnn, 5)
    torch_opt, torch_fns = make(torch, 5)
    mini_state = lr_scheduler.LambdaLR(mini_opt, mini_fns).state_dict()
    torch_state = torch.optim.lr_scheduler.LambdaLR(torch_opt, torch_fns).state_dict()
    assert mini_state["lr_lambdas"] == torch_state["lr_lambdas"] == [{"warmup": 5}, None]

    resumed_opt, resumed_fns = make(minicnn, 2)
    resumed = lr_scheduler.LambdaLR(resumed_opt, resumed_fns)
    resumed.load_state_dict(mini_state)
    assert resumed_fns[0].warmup == 5 and "lr_lambdas" in mini_state  # the caller's dict is left whole


@pytest.mark.parametrize("make, error, message", [
    (lambda opt: lr_scheduler.StepLR("not an optimizer", step_size=2), TypeError, "str is not an Optimizer"),
    (lambda opt: lr_scheduler.StepLR(opt, step_size=2, last_epoch=5), KeyError, "initial_lr"),
    (lambda opt: lr_scheduler.LambdaLR(opt, [_lambda_schedule] * 2), ValueError, "Expected 1 lr_lambdas, but got 2"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0), ValueError, "Factor should be < 1.0."),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="up"), ValueError, "mode up is unknown!"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="pct"), ValueError, "threshold mode pct is unknown!"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2]), ValueError, "min_lr must have the same length"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0), ValueError, "You must define either total_steps OR"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=0), ValueError, "positive integer total_steps"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=9, pct_start=1), ValueError, "pct_start"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1, total_steps=9, anneal_strategy="exp"), ValueError, "anneal_strategy"),
])
def test_scheduler_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make(optim.SGD([_leaf()], lr=0.1))


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = optim.SGD([_leaf()], lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()
