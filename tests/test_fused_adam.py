"""Adam's fused update (the numba backend's one-pass kernel, minicnn.optim.fused) against torch and the array code.

Under ``use_backend("numba")`` Adam and AdamW run minicnn.tuned.numba.adam for every
parameter; the same sweep as tests/test_optim.py checks them against torch.optim step by step,
and a second test checks that the kernel rounds as the NumPy array code does, to the bit.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

import minicnn  # noqa: E402
from minicnn import backends, optim  # noqa: E402
from minicnn.backends import registry  # noqa: E402
from parity import rand  # noqa: E402
from test_optim import compare_state, make_params, run_and_compare  # noqa: E402
import torch  # noqa: E402


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.3, 0.99)], ids=["betas-default", "beta1-below-half"])
@pytest.mark.parametrize("maximize", [False, True], ids=["min", "max"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1], ids=["wd0", "wd0.1"])
@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_fused_adam_matches_torch(name, amsgrad, weight_decay, maximize, betas, dtype):
    mini, ref = make_params(dtype)
    kwargs = dict(lr=0.01, betas=betas, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
    with backends.use_backend("numba"):
        mini_opt, torch_opt = getattr(optim, name)(mini, **kwargs), getattr(torch.optim, name)(ref, **kwargs)
        run_and_compare(mini_opt, mini, torch_opt, ref, dtype)
    compare_state(mini_opt, mini, torch_opt, ref, dtype)


def _trained(backend: str, start: list[np.ndarray], grads: list[list[np.ndarray]], **kwargs) -> list[np.ndarray]:
    params = [minicnn.tensor(a.copy(), requires_grad=True) for a in start]
    with backends.use_backend(backend):
        opt = optim.Adam(params, **kwargs)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = minicnn.tensor(g.copy())
            opt.step()
    return [p.numpy() for p in params] + [opt.state[p][key].numpy() for p in params for key in ("exp_avg", "exp_avg_sq")]


@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.3, 0.99)], ids=["betas-default", "beta1-below-half"])
def test_fused_adam_rounds_as_the_array_code_does(betas, amsgrad, dtype):
    """Same operations in the same order and dtype: parameters and moments equal the array code's bit for bit."""
    start = [rand(7, 5, dtype=dtype), rand(3, dtype=dtype)]
    grads = [[rand(*a.shape, dtype=dtype) for a in start] for _ in range(6)]
    grads[2][1][0] = np.nan  # a NaN travels through both the same way (and wins the AMSGrad maximum)
    fused = _trained("numba", start, grads, lr=0.05, betas=betas, amsgrad=amsgrad)
    array_code = _trained("numpy", start, grads, lr=0.05, betas=betas, amsgrad=amsgrad)
    for got, want in zip(fused, array_code):
        np.testing.assert_array_equal(got, want)


def test_the_kernel_takes_only_contiguous_arrays_of_the_parameters_dtype():
    fused = registry.own("optim", "adam", "numba")
    assert registry.own("optim", "adam", "numpy") is None  # the array code runs there
    p, m, v = (np.zeros((4, 3), dtype=np.float32) for _ in range(3))
    scalars = dict(lerp_weight=0.1, beta2=0.999, bias_correction2=0.001, eps=1e-8, step_size=0.01)
    g = np.ones((3, 4), dtype=np.float32).T  # not C-contiguous
    assert not fused.update(p, g, m, v, None, **scalars)
    assert not fused.update(p, np.ones((4, 3)), m, v, None, **scalars)  # float64 gradient
    assert (p == 0).all() and (m == 0).all()  # left for the array code
    assert fused.update(p, np.ascontiguousarray(g), m, v, None, **scalars)
    assert (p != 0).all()
