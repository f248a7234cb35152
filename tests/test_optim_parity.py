"""Adadelta, Adagrad, RMSprop, NAdam, RAdam and LinearLR / SequentialLR / OneCycleLR against torch.

Same method as test_optim.py: identical parameters in both libraries, the same random
gradients fed by hand every step (one parameter skips odd steps), parameters compared after
every step and the whole optimizer state at the end; schedules compared exactly.

Tolerance: torch's CPU kernels for ``lerp_`` and ``addcmul_`` use fused multiply-adds (one
rounding where NumPy rounds twice), so float32 results differ by an ulp per op; centered
RMSprop's ``sqrt(v - m * m)`` amplifies that, so the tolerance here is the parity tolerance
scaled by 1/5 (float32 ~4e-6 relative) rather than test_optim's 1/20. float64 agrees to ~1e-15.
"""
from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
import torch

import minicnn
from minicnn import optim
from minicnn.optim import lr_scheduler
from parity import assert_close, rand
from helpers.optim import (
    IMPLEMENTATION_KNOBS, check_checkpoint_round_trip, check_continues_from_numpy_torch_state,
    check_schedule_resumes, compare_state, feed_gradients, leaf_copies, make_params, run_and_compare,
    schedules_on_both, step_both, two_group_adam, two_group_sgd,
)

FUSED = 0.2


def _grid(**axes):
    """Every combination of the given values, as kwargs dicts."""
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


CONFIGS = {
    "Adadelta": _grid(lr=[1.0, 0.3], rho=[0.9, 0.4], eps=[1e-6, 0.1], weight_decay=[0.0, 0.1], maximize=[False, True]),
    "Adagrad": _grid(lr=[0.1], lr_decay=[0.0, 0.2], weight_decay=[0.0, 0.1], initial_accumulator_value=[0.0, 0.5],
                     eps=[1e-10, 0.1], maximize=[False, True]),
    # alpha 0.3 puts the centered lerp's weight (0.7) on torch's other formula
    "RMSprop": _grid(lr=[0.01], alpha=[0.99, 0.3], weight_decay=[0.0, 0.1], momentum=[0.0, 0.9],
                     centered=[False, True], maximize=[False, True]),
    "NAdam": _grid(lr=[0.01], betas=[(0.9, 0.999), (0.3, 0.9)], weight_decay=[0.0, 0.1],
                   momentum_decay=[4e-3, 0.3], decoupled_weight_decay=[False, True], maximize=[False, True]),
    # betas (0.9, 0.999) switch on the rectified rate at step 6, (0.5, 0.9) at step 3: both
    # branches run within the 10 steps
    "RAdam": _grid(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], eps=[1e-8, 0.1], weight_decay=[0.0, 0.1],
                   decoupled_weight_decay=[False, True], maximize=[False, True]),
}
CASES = [(name, config) for name, configs in CONFIGS.items() for config in configs]


def _case_id(case):
    name, config = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in config.items())


@pytest.mark.parametrize("name, config", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_torch_step_by_step(name, config, dtype):
    mini, ref = make_params(dtype)
    mini_opt, torch_opt = getattr(optim, name)(mini, **config), getattr(torch.optim, name)(ref, **config)
    run_and_compare(mini_opt, mini, torch_opt, ref, dtype, scale_rtol=FUSED)
    compare_state(mini_opt, mini, torch_opt, ref, dtype, scale_rtol=FUSED)


NAMES = list(CONFIGS)


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_defaults_are_torchs(name):
    """Same parameter names, order, kinds and defaults, leaving out torch's kernel-choice knobs."""
    def params(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls.__init__).parameters.values()
                if p.name not in IMPLEMENTATION_KNOBS]

    assert params(getattr(optim, name)) == params(getattr(torch.optim, name))
    mini_opt = getattr(optim, name)([minicnn.tensor([1.0], requires_grad=True)])
    torch_opt = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)])
    assert mini_opt.defaults == {k: v for k, v in torch_opt.defaults.items() if k not in IMPLEMENTATION_KNOBS}


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_hyperparameters(name, dtype):
    mini, ref = make_params(dtype)
    own = {"lr": 0.3, "weight_decay": 0.05}

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], **own}]

    lr = 0.5 if name == "Adadelta" else 0.02
    mini_opt, torch_opt = getattr(optim, name)(groups(mini), lr=lr), getattr(torch.optim, name)(groups(ref), lr=lr)
    run_and_compare(mini_opt, mini, torch_opt, ref, dtype, scale_rtol=FUSED)


def test_nadam_mu_product_follows_the_default_dtype():
    """torch keeps mu_product in float64 when that is the default dtype (float32 otherwise)."""
    old_mini, old_torch = minicnn.get_default_dtype(), torch.get_default_dtype()
    minicnn.set_default_dtype(np.float64)
    torch.set_default_dtype(torch.float64)
    try:
        mini, ref = make_params(np.float64)
        mini_opt, torch_opt = optim.NAdam(mini, lr=0.01), torch.optim.NAdam(ref, lr=0.01)
        run_and_compare(mini_opt, mini, torch_opt, ref, np.float64, scale_rtol=FUSED)
        compare_state(mini_opt, mini, torch_opt, ref, np.float64, scale_rtol=FUSED)
        assert type(mini_opt.state[mini[0]]["mu_product"]) is np.float64
    finally:
        minicnn.set_default_dtype(old_mini)
        torch.set_default_dtype(old_torch)


def test_adagrad_creates_every_state_at_construction_as_torch():
    mini, ref = make_params(np.float64)
    mini_opt = optim.Adagrad(mini, initial_accumulator_value=0.25)
    torch_opt = torch.optim.Adagrad(ref, initial_accumulator_value=0.25)
    assert sorted(mini_opt.state_dict()["state"]) == sorted(torch_opt.state_dict()["state"]) == [0, 1, 2]
    compare_state(mini_opt, mini, torch_opt, ref, np.float64, scale_rtol=FUSED)


# ---------------------------------------------------------------------- state dicts
RESUME_CASES = [
    ("Adadelta", dict(lr=1.0, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.2)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, kwargs", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_state_dict_round_trip_through_a_checkpoint_continues_identically(name, kwargs, dtype, tmp_path):
    check_checkpoint_round_trip(name, kwargs, dtype, tmp_path, scale_rtol=FUSED)


@pytest.mark.parametrize("name, kwargs", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_continues_from_a_torch_state_dict_converted_to_numpy(name, kwargs, dtype):
    check_continues_from_numpy_torch_state(name, kwargs, dtype, scale_rtol=FUSED)


# ---------------------------------------------------------------------- errors
def _leaf():
    return minicnn.tensor(rand(2), requires_grad=True)


@pytest.mark.parametrize("name, kwargs, message", [
    ("Adadelta", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(eps=-1e-6), "Invalid epsilon value: -1e-06"),
    ("Adagrad", dict(lr_decay=-0.1), "Invalid lr_decay value: -0.1"),
    ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    ("RMSprop", dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    ("NAdam", dict(momentum_decay=-1.0), "Invalid momentum_decay value: -1.0"),
    ("NAdam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("RAdam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
])
def test_bad_hyperparameters_raise_torchs_message(name, kwargs, message):
    for lib_optim, param in ((optim, _leaf()), (torch.optim, torch.zeros(2, requires_grad=True))):
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            getattr(lib_optim, name)([param], **kwargs)


# ---------------------------------------------------------------------- schedules
def _one_param_sgd(lib, momentum=0.9):
    opt_cls = optim.SGD if lib is minicnn else torch.optim.SGD
    return opt_cls([lib.tensor(np.ones(2), requires_grad=True)], lr=0.1, momentum=momentum)


def _rmsprop(lib):
    """An optimizer with a ``momentum`` hyperparameter that is not SGD (OneCycleLR cycles it)."""
    opt_cls = optim.RMSprop if lib is minicnn else torch.optim.RMSprop
    return opt_cls([lib.tensor(np.ones(2), requires_grad=True)], lr=0.1, momentum=0.5)


SIMPLE_SCHEDULES = {
    "LinearLR-defaults": (two_group_sgd, "LinearLR", dict()),
    "LinearLR-decay": (two_group_sgd, "LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=11)),
    "LinearLR-warmup": (two_group_adam, "LinearLR", dict(start_factor=0.01, total_iters=7)),
    "ExponentialLR": (two_group_adam, "ExponentialLR", dict(gamma=0.8)),
    "LambdaLR-warmup": (two_group_sgd, "LambdaLR", dict(lr_lambda=lambda e: min(1.0, (e + 1) / 6))),
}
for strategy, three_phase, momentum in itertools.product(("cos", "linear"), (False, True), (True, False)):
    for make in (two_group_sgd, two_group_adam, _rmsprop):
        SIMPLE_SCHEDULES[f"OneCycleLR-{strategy}-3phase={three_phase}-cycle={momentum}-{make.__name__}"] = (
            make, "OneCycleLR",
            dict(max_lr=0.4, total_steps=30, anneal_strategy=strategy, three_phase=three_phase,
                 cycle_momentum=momentum, pct_start=0.25, div_factor=10.0, final_div_factor=100.0,
                 base_momentum=0.8, max_momentum=0.9))


@pytest.mark.parametrize("schedule", SIMPLE_SCHEDULES)
def test_schedule_matches_torch_exactly(schedule):
    mini_opt, mini_sched, torch_opt, torch_sched = schedules_on_both(*SIMPLE_SCHEDULES[schedule])
    assert mini_sched.get_last_lr() == torch_sched.get_last_lr()
    step_both(mini_opt, mini_sched, torch_opt, torch_sched, 30)


def _sequences(lib):
    """SequentialLR recipes, each as a function of the library's lr_scheduler module."""
    return {
        "warmup-then-cosine": lambda s, opt: s.SequentialLR(
            opt, [s.LinearLR(opt, start_factor=0.1, total_iters=4), s.CosineAnnealingLR(opt, T_max=10)],
            milestones=[4]),
        "three-phases": lambda s, opt: s.SequentialLR(
            opt, [s.LinearLR(opt, start_factor=0.5, total_iters=3),
                  s.ExponentialLR(opt, gamma=0.7), s.StepLR(opt, step_size=3, gamma=0.5)],
            milestones=[5, 12]),
        "lambda-then-multistep": lambda s, opt: s.SequentialLR(
            opt, [s.LambdaLR(opt, lambda e: 0.5 ** e), s.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.3)],
            milestones=[6]),
        "milestone-at-0": lambda s, opt: s.SequentialLR(
            opt, [s.ExponentialLR(opt, gamma=0.5), s.LinearLR(opt, start_factor=0.2, total_iters=5)],
            milestones=[0]),
        "nested": lambda s, opt: s.SequentialLR(
            opt, [s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.25, total_iters=2),
                                       s.ExponentialLR(opt, gamma=0.9)], milestones=[3]),
                  s.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)],
            milestones=[8]),
    }


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # torch's, for nesting
@pytest.mark.parametrize("recipe", list(_sequences(None)))
@pytest.mark.parametrize("make_optimizer", [two_group_sgd, two_group_adam], ids=["sgd", "adam"])
def test_sequential_lr_matches_torch_exactly(recipe, make_optimizer):
    mini_opt, torch_opt = make_optimizer(minicnn), make_optimizer(torch)
    mini_sched = _sequences(minicnn)[recipe](lr_scheduler, mini_opt)
    torch_sched = _sequences(torch)[recipe](torch.optim.lr_scheduler, torch_opt)
    assert mini_sched.get_last_lr() == torch_sched.get_last_lr()
    assert [g["lr"] for g in mini_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    step_both(mini_opt, mini_sched, torch_opt, torch_sched, 25)


def test_sequential_lr_state_dict_has_torchs_structure_and_resumes(tmp_path):
    build = _sequences(minicnn)["three-phases"]
    mini_opt, torch_opt = two_group_sgd(minicnn), two_group_sgd(torch)
    mini_sched = build(lr_scheduler, mini_opt)
    torch_sched = _sequences(torch)["three-phases"](torch.optim.lr_scheduler, torch_opt)
    step_both(mini_opt, mini_sched, torch_opt, torch_sched, 9)
    state = mini_sched.state_dict()
    torch_state = torch_sched.state_dict()
    assert state["_milestones"] == torch_state["_milestones"] and state["last_epoch"] == torch_state["last_epoch"]
    assert len(state["_schedulers"]) == 3
    for mine, theirs in zip(state["_schedulers"], torch_state["_schedulers"]):
        assert mine["last_epoch"] == theirs["last_epoch"] and mine["base_lrs"] == theirs["base_lrs"]
    minicnn.save({"optimizer": mini_opt.state_dict(), "scheduler": state}, tmp_path / "c.npz")

    checkpoint = minicnn.load(tmp_path / "c.npz")
    resumed_opt = two_group_sgd(minicnn)
    resumed_sched = build(lr_scheduler, resumed_opt)
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    resumed_sched.load_state_dict(checkpoint["scheduler"])
    step_both(resumed_opt, resumed_sched, torch_opt, torch_sched, 16)


@pytest.mark.parametrize("schedule", ["LinearLR-warmup", "OneCycleLR-linear-3phase=True-cycle=True-two_group_adam"])
def test_schedule_resumes_from_a_checkpoint(schedule, tmp_path):
    check_schedule_resumes(*SIMPLE_SCHEDULES[schedule], tmp_path, before=10, after=20)


@pytest.mark.parametrize("make, message", [
    (lambda s, opt: s.LinearLR(opt, start_factor=0), "Starting multiplicative factor expected to be greater than 0"),
    (lambda s, opt: s.LinearLR(opt, end_factor=1.5), "Ending multiplicative factor expected to be between 0 and 1"),
    (lambda s, opt: s.SequentialLR(opt, [], milestones=[]), "expects at least one scheduler"),
    (lambda s, opt: s.SequentialLR(opt, [s.StepLR(opt, 2)], milestones=[3]),
     "expects number of schedulers provided to be one more than the number of milestone points"),
    (lambda s, opt: s.SequentialLR(opt, [s.StepLR(opt, 2), s.ReduceLROnPlateau(opt)], milestones=[3]),
     "does not support `ReduceLROnPlateau`"),
])
def test_scheduler_bad_arguments_raise_torchs_message(make, message):
    for lib, sched in ((minicnn, lr_scheduler), (torch, torch.optim.lr_scheduler)):
        with pytest.raises(ValueError, match=message):
            make(sched, _one_param_sgd(lib))


def test_sequential_lr_refuses_a_scheduler_of_another_optimizer():
    opt, other = _one_param_sgd(minicnn), _one_param_sgd(minicnn)
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2), lr_scheduler.StepLR(other, 2)], milestones=[3])


@pytest.mark.parametrize("name, kwargs", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_resumes_from_a_torch_checkpoint_file(name, kwargs, tmp_path):
    """torch.save({"optimizer": ..., "scheduler": ...}) -> minicnn.load -> load_state_dict -> same steps."""
    dtype = np.float32
    mini, ref = make_params(dtype)
    torch_opt = getattr(torch.optim, name)(ref, **kwargs)
    torch_sched = torch.optim.lr_scheduler.StepLR(torch_opt, step_size=2, gamma=0.5)
    for step in range(5):
        feed_gradients(mini, ref, dtype, step)
        torch_opt.step()
        torch_sched.step()
    torch.save({"optimizer": torch_opt.state_dict(), "scheduler": torch_sched.state_dict()}, tmp_path / "ckpt.pt")

    checkpoint = minicnn.load(tmp_path / "ckpt.pt")
    resumed = leaf_copies(ref)
    mini_opt = getattr(optim, name)(resumed, **kwargs)
    mini_sched = lr_scheduler.StepLR(mini_opt, step_size=2, gamma=0.5)
    mini_opt.load_state_dict(checkpoint["optimizer"])
    mini_sched.load_state_dict(checkpoint["scheduler"])
    for step in range(5, 10):
        feed_gradients(resumed, ref, dtype, step)
        mini_opt.step()
        torch_opt.step()
        mini_sched.step()
        torch_sched.step()
        assert mini_sched.get_last_lr() == torch_sched.get_last_lr()
        for k, (pm, pt) in enumerate(zip(resumed, ref)):
            assert_close(pm, pt, dtype, f"param {k} after step {step + 1}", scale_rtol=FUSED)
    compare_state(mini_opt, resumed, torch_opt, ref, dtype, scale_rtol=FUSED)
