"""The parity harness: run the same computation in minicnn and torch, compare everything.

Typical use in a test::

    x = rand(2, 3, 7, 7, dtype=dtype)                 # NumPy array, fresh random values
    mini_out, torch_out = run_both(lambda lib, F, x, w: F.conv2d(x, w, stride=2),
                                   x, w)               # tensors built from the same arrays
    check_forward_and_grads(mini_out, torch_out, dtype)

``run_both`` builds a minicnn tensor and a torch tensor (both requiring grad) from each
NumPy input, calls ``fn`` once with each library, back-propagates the same random upstream
gradient through both outputs and returns the pair of result bundles; ``check`` compares
the outputs and every input gradient.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

import minicnn
import minicnn.nn.functional as mF
import torch.nn.functional as tF

# Relative tolerances: float64 should agree to rounding, float32 to accumulated rounding.
RTOL = {np.float64: 1e-9, np.float32: 2e-5}
ATOL = {np.float64: 1e-11, np.float32: 2e-6}

_rng = np.random.default_rng()


def rand(*shape, dtype=np.float64) -> np.ndarray:
    """Fresh standard-normal values (never zeros or ramps that could hide index errors)."""
    return _rng.standard_normal(shape).astype(dtype)


def to_numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return t.detach().numpy()


def assert_close(got, want, dtype=np.float64, what: str = "", scale_rtol: float = 1.0) -> float:
    """Assert ``got`` (minicnn or array) ≈ ``want`` (torch or array); return the worst relative error.

    The error is measured relative to the largest magnitude in ``want`` so that values that
    are near zero by cancellation do not blow up the ratio.
    """
    g = to_numpy(got) if not isinstance(got, np.ndarray) else got
    w = to_numpy(want) if not isinstance(want, np.ndarray) else want
    assert g.shape == w.shape, f"{what}: shape {g.shape} != torch {w.shape}"
    # NaN where torch gives NaN (e.g. a weighted mean over targets that are all ignored) is right.
    nan = np.isnan(w)
    np.testing.assert_array_equal(np.isnan(g), nan, err_msg=f"{what}: NaN positions differ from torch")
    if nan.any():
        g, w = np.where(nan, 0, g), np.where(nan, 0, w)
    dtype = np.dtype(dtype).type
    scale = max(float(np.abs(w).max()) if w.size else 0.0, 1e-30)
    err = float(np.abs(g.astype(np.float64) - w.astype(np.float64)).max()) / scale if w.size else 0.0
    tol = RTOL[dtype] * scale_rtol + ATOL[dtype] / scale
    assert err <= tol, f"{what}: max relative error {err:.3g} > {tol:.3g} (dtype {dtype.__name__})"
    if err <= RTOL[dtype] * scale_rtol:  # values that are rounding noise around 0 pass on ATOL alone
        WORST[dtype.__name__] = max(WORST.get(dtype.__name__, 0.0), err)
    return err


WORST: dict[str, float] = {}


# ---------------------------------------------------------------------------- whole models
# A model's gradient jumps where a ReLU input crosses zero or a max-pool window's two largest
# values swap. Two correct float32 implementations sum in different orders, so their values
# differ by rounding (about 1e-7 of the largest); where a value lies that close to a kink they
# can land on either side and one gradient entry changes by a whole term. Measured on 1,000
# random LeNet-5 batches, ~0.3% of float32 passes hit one, and then torch was as often the one
# off from a float64 reference as minicnn. A model test therefore draws its batch again when
# some value lies within KINK_MARGIN (relative to its tensor's largest magnitude) of a kink:
# those gradients are decided by rounding, not by the implementation.
KINK_MARGIN = {np.float64: 1e-15, np.float32: 5e-7}


def kink_distance(torch_model: torch.nn.Module, *inputs) -> float:
    """The nearest approach, over one forward of ``torch_model``, of any ReLU input to 0 or of
    any max-pool window's runner-up to its maximum, relative to that tensor's largest magnitude."""
    nearest = [np.inf]

    def relative(gaps, tensor):
        if gaps.numel():
            scale = max(float(tensor.abs().max()), 1e-30)
            nearest[0] = min(nearest[0], float(gaps.min()) / scale)

    def relu_hook(module, args, output):
        relative(args[0].abs(), args[0])

    def max_pool_hook(module, args, output):
        x = args[0]
        assert module.padding == 0 and module.dilation == 1 and not module.ceil_mode, \
            "kink_distance reads max-pool windows without padding, dilation or ceil_mode"
        kh, kw = torch.nn.modules.utils._pair(module.kernel_size)
        sh, sw = torch.nn.modules.utils._pair(module.stride or module.kernel_size)
        windows = x.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)  # (N, C, OH, OW, KH*KW)
        top2 = windows.topk(2, dim=-1).values
        gaps = top2[..., 0] - top2[..., 1]
        # A window of ReLU's exact zeros is a tie too, but its gradient is zero whichever wins.
        relative(gaps[top2[..., 0] != 0], x)

    probe = copy.deepcopy(torch_model)  # a train-mode forward would move the BN running statistics
    for m in probe.modules():
        if isinstance(m, (torch.nn.ReLU, torch.nn.MaxPool2d)):
            m.register_forward_hook(relu_hook if isinstance(m, torch.nn.ReLU) else max_pool_hook)
    with torch.no_grad():
        probe(*(torch.as_tensor(a) for a in inputs))
    return nearest[0]


def draw_clear_of_kinks(torch_model: torch.nn.Module, draw: Callable, dtype, tries: int = 20):
    """``draw()`` again until the input it returns first (the rest: labels) keeps every value of
    ``torch_model``'s forward at least :data:`KINK_MARGIN` from a kink; fail after ``tries``."""
    margin = KINK_MARGIN[np.dtype(dtype).type]
    for _ in range(tries):
        drawn = draw()
        distance = kink_distance(torch_model, drawn[0])
        if distance >= margin:
            return drawn
    raise AssertionError(f"{tries} draws all came within {distance:.2g} < {margin:g} of a kink")


@dataclass
class Run:
    out: object
    inputs: list


def run_both(fn: Callable, *arrays: np.ndarray, requires_grad=None, seed_grad: bool = True):
    """Call ``fn(lib, F, *tensors)`` with lib = minicnn then torch; back-propagate one upstream grad.

    ``requires_grad`` is a list of booleans per input (default: float inputs require grad).
    Returns (mini Run, torch Run).
    """
    if requires_grad is None:
        requires_grad = [a.dtype.kind == "f" for a in arrays]
    runs = []
    for lib, F in ((minicnn, mF), (torch, tF)):
        tensors = []
        for a, rg in zip(arrays, requires_grad):
            t = lib.tensor(a.copy())
            if rg:
                t.requires_grad_(True)
            tensors.append(t)
        runs.append(Run(fn(lib, F, *tensors), tensors))
    mini, ref = runs
    if seed_grad:
        outs_m = mini.out if isinstance(mini.out, tuple) else (mini.out,)
        outs_t = ref.out if isinstance(ref.out, tuple) else (ref.out,)
        for om, ot in zip(outs_m, outs_t):
            if not ot.requires_grad:
                continue
            g = rand(*ot.shape, dtype=to_numpy(ot).dtype)
            om.backward(minicnn.tensor(g), retain_graph=True)
            ot.backward(torch.tensor(g), retain_graph=True)
    return mini, ref


def check(mini: Run, ref: Run, dtype, what: str = "", scale_rtol: float = 1.0) -> None:
    """Compare outputs and the gradient of every input that requires grad."""
    outs_m = mini.out if isinstance(mini.out, tuple) else (mini.out,)
    outs_t = ref.out if isinstance(ref.out, tuple) else (ref.out,)
    for k, (om, ot) in enumerate(zip(outs_m, outs_t)):
        if ot.dtype in (torch.int64, torch.int32, torch.bool):
            np.testing.assert_array_equal(to_numpy(om), to_numpy(ot), err_msg=f"{what}: output {k}")
        else:
            assert_close(om, ot, dtype, f"{what}: output {k}", scale_rtol)
    for k, (tm, tt) in enumerate(zip(mini.inputs, ref.inputs)):
        if tt.requires_grad:
            assert tt.grad is not None, f"{what}: torch gave no grad for input {k}"
            assert tm.grad is not None, f"{what}: minicnn gave no grad for input {k}"
            assert_close(tm.grad, tt.grad, dtype, f"{what}: grad of input {k}", scale_rtol)
