"""Activations: parity with torch (outputs and input gradients), gradcheck, stability, errors."""
import math
import re
import warnings

import numpy as np
import pytest
import torch

import minicnn
import minicnn.nn.functional as F
from minicnn.ops.activation import _erf
from parity import check, rand, run_both

POINTWISE = [
    ("relu", {}),
    ("relu6", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.3}),
    ("elu", {}),
    ("elu", {"alpha": 0.6}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
]
SHAPES = [(7,), (2, 3, 5), (2, 3, 4, 5)]


def _ids(spec):
    name, kwargs = spec
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("spec", POINTWISE, ids=_ids)
def test_pointwise_matches_torch(spec, shape, dtype):
    name, kwargs = spec
    x = rand(*shape, dtype=dtype) * 4  # wide enough to cover both sides of every kink (relu6's 6 too)
    mini, ref = run_both(lambda lib, F, x: getattr(F, name)(x, **kwargs), x)
    check(mini, ref, dtype, name)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [
    ((6,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), -1), ((2, 3, 4), -2),
])
def test_softmax_family_matches_torch(name, shape, dim, dtype):
    x = rand(*shape, dtype=dtype) * 3
    mini, ref = run_both(lambda lib, F, x: getattr(F, name)(x, dim), x)
    check(mini, ref, dtype, f"{name} dim={dim}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_is_stable_for_huge_logits(name):
    x = rand(4, 6) * 1000  # exp(1000) overflows: only the max-shifted form survives
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        mini, ref = run_both(lambda lib, F, x: getattr(F, name)(x, 1), x)
    check(mini, ref, np.float64, name)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_softmax_without_dim_follows_torch_legacy_rule(name, ndim):
    x = rand(*(2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        mini = getattr(F, name)(minicnn.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ref = getattr(torch.nn.functional, name)(torch.tensor(x))
    np.testing.assert_allclose(mini.numpy(), ref.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_argument_casts_first(name):
    x = rand(3, 4, dtype=np.float32)
    mini, ref = run_both(lambda lib, F, x: getattr(F, name)(x, 1, dtype=lib.float64), x)
    assert mini.out.dtype == minicnn.float64
    check(mini, ref, np.float64, name)
    assert mini.inputs[0].grad.dtype == minicnn.float32  # the gradient comes back in the input's dtype


@pytest.mark.parametrize("x", [-40.0, -8.0, -1e-3, 0.0, 1e-3, 8.0, 40.0])
def test_gelu_extreme_and_small_values_match_torch(x):
    mini, ref = run_both(lambda lib, F, x: F.gelu(x), np.array([x]))
    check(mini, ref, np.float64, "gelu")


def test_erf_matches_math_erf_to_rounding():
    xs = np.concatenate([np.linspace(-7, 7, 20001), [-np.inf, np.inf, 2.5, -2.5, 1e-300, -0.0]])
    want = np.array([math.erf(v) for v in xs])
    got = _erf(np, xs)
    rel = np.abs(got - want) / np.maximum(np.abs(want), np.finfo(np.float64).tiny)
    assert rel.max() < 4e-15
    assert np.isnan(_erf(np, np.array([np.nan]))).all()
    want32 = want.astype(np.float32)
    got32 = _erf(np, xs.astype(np.float32))
    assert got32.dtype == np.float32
    assert np.abs(got32 - want32).max() < 1e-6


def test_sigmoid_saturates_without_overflow():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mini, ref = run_both(lambda lib, F, x: F.sigmoid(x), x)
    check(mini, ref, np.float64, "sigmoid")
    assert mini.out.numpy()[0] == 0.0 and mini.out.numpy()[-1] == 1.0


@pytest.mark.parametrize("name,kinks", [("relu", [0.0]), ("relu6", [0.0, 6.0]), ("hardtanh", [-1.0, 1.0]),
                                        ("leaky_relu", [0.0]), ("elu", [0.0])])
def test_gradient_at_kinks_matches_torch(name, kinks):
    x = np.array(kinks + [k + d for k in kinks for d in (-0.5, 0.5)])
    mini, ref = run_both(lambda lib, F, x: getattr(F, name)(x), x)
    check(mini, ref, np.float64, name)


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "silu", "hardtanh"])
def test_inplace_is_accepted_and_leaves_input_alone(name):
    x = minicnn.tensor(rand(3, 4))
    before = x.numpy().copy()
    y = getattr(F, name)(x, inplace=True)
    np.testing.assert_array_equal(x.numpy(), before)
    assert y is not x


@pytest.mark.parametrize("spec", POINTWISE, ids=_ids)
def test_gradcheck_pointwise(spec):
    name, kwargs = spec
    x = minicnn.tensor(rand(2, 5) * 3, requires_grad=True)
    assert minicnn.gradcheck(lambda t: getattr(F, name)(t, **kwargs), [x])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_gradcheck_softmax_family(name, dim):
    x = minicnn.tensor(rand(2, 3, 4), requires_grad=True)
    assert minicnn.gradcheck(lambda t: getattr(F, name)(t, dim), [x])


def test_softmax_of_a_scalar_is_one():
    x = minicnn.tensor(np.array(2.5), requires_grad=True)
    y = F.softmax(x, 0)
    assert y.shape == () and y.item() == 1.0
    y.backward()
    assert x.grad.item() == 0.0


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [2, -3])
def test_softmax_dim_out_of_range(name, dim):
    message = f"{name}: Dimension out of range (expected to be in range of [-2, 1], but got {dim})"
    with pytest.raises(IndexError, match=re.escape(message)):
        getattr(F, name)(minicnn.tensor(rand(2, 3)), dim)


def test_gelu_rejects_unknown_approximation():
    message = "gelu: approximate argument must be either none or tanh, got 'erf'"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.gelu(minicnn.tensor(rand(3)), approximate="erf")


def test_hardtanh_rejects_min_above_max():
    message = "hardtanh: min_val cannot be greater than max_val (got 2.0 > 1.0)"
    with pytest.raises(ValueError, match=re.escape(message)):
        F.hardtanh(minicnn.tensor(rand(3)), 2.0, 1.0)
