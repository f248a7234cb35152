"""Dropout: statistics and structure of the masks, scaling, gradients, seeding, errors.

Masks are random, so torch parity is replaced by checks that hold for every mask: each output
element is 0 or exactly input/(1-p), the drop rate is p within a binomial tolerance, the
gradient is that same mask times 1/(1-p), and a seed reproduces the mask.
"""
import re

import numpy as np
import pytest

import minicnn
import minicnn.nn.functional as F
from parity import rand

P_VALUES = [0.1, 0.5, 0.8]


def _scale(p, dtype):
    return np.asarray(1.0 / (1.0 - p), dtype=dtype)


def _assert_kept_or_dropped(x, out, p, dtype):
    """Every element is 0 (dropped) or input · 1/(1-p) (kept); return the kept mask."""
    kept = out != 0
    np.testing.assert_array_equal(out[kept], (x * _scale(p, dtype))[kept])
    assert out.dtype == dtype
    return kept


def _binomial_tolerance(p, n):
    """Six standard deviations of a Binomial(n, p) fraction: a false alarm is ~1e-9 likely."""
    return 6 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", P_VALUES)
def test_dropout_drops_a_fraction_p_and_scales_survivors(p, dtype):
    x = rand(200, 500, dtype=dtype)  # 100 000 draws
    out = F.dropout(minicnn.tensor(x), p).numpy()
    kept = _assert_kept_or_dropped(x, out, p, dtype)
    assert abs((1 - kept.mean()) - p) < _binomial_tolerance(p, kept.size)


@pytest.mark.parametrize("p", P_VALUES)
def test_dropout_gradient_is_mask_times_scale(p, dtype):
    x = minicnn.tensor(rand(6, 7, 8, dtype=dtype), requires_grad=True)
    out = F.dropout(x, p)
    g = rand(6, 7, 8, dtype=dtype)
    out.backward(minicnn.tensor(g))
    kept = _assert_kept_or_dropped(x.numpy(), out.numpy(), p, dtype)
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, g * _scale(p, dtype), 0))


@pytest.mark.parametrize("shape", [(40, 250, 2, 2), (10000, 2, 3)], ids=["NCHW", "CHW"])
@pytest.mark.parametrize("p", P_VALUES)
def test_dropout2d_zeroes_whole_channels(shape, p, dtype):
    x = rand(*shape, dtype=dtype)
    xt = minicnn.tensor(x, requires_grad=True)
    out = F.dropout2d(xt, p)
    kept = _assert_kept_or_dropped(x, out.numpy(), p, dtype)
    planes = kept.reshape(-1, shape[-2] * shape[-1])  # one row per (n, c) channel plane
    assert (planes.all(axis=1) | ~planes.any(axis=1)).all(), "a channel was partly dropped"
    dropped = 1 - planes[:, 0].mean()
    assert abs(dropped - p) < _binomial_tolerance(p, planes.shape[0])
    g = rand(*shape, dtype=dtype)
    out.backward(minicnn.tensor(g))
    np.testing.assert_array_equal(xt.grad.numpy(), np.where(kept, g * _scale(p, dtype), 0))


@pytest.mark.parametrize("drop", [F.dropout, F.dropout2d])
@pytest.mark.parametrize("p,training", [(0.5, False), (0.0, True)])
def test_identity_when_not_training_or_p_zero(drop, p, training):
    x = minicnn.tensor(rand(2, 3, 4, 5))
    assert drop(x, p, training=training) is x


@pytest.mark.parametrize("drop", [F.dropout, F.dropout2d])
def test_p_one_drops_everything(drop, dtype):
    x = minicnn.tensor(rand(2, 3, 4, 5, dtype=dtype), requires_grad=True)
    out = drop(x, 1.0)
    assert (out.numpy() == 0).all() and out.dtype == dtype
    out.backward(minicnn.tensor(rand(2, 3, 4, 5, dtype=dtype)))
    assert (x.grad.numpy() == 0).all()


@pytest.mark.parametrize("drop", [F.dropout, F.dropout2d])
def test_manual_seed_reproduces_the_mask(drop):
    x = minicnn.tensor(rand(4, 8, 5, 5))
    minicnn.manual_seed(1234)
    first = drop(x, 0.5).numpy()
    minicnn.manual_seed(1234)
    again = drop(x, 0.5).numpy()
    minicnn.manual_seed(4321)
    other = drop(x, 0.5).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_inplace_is_accepted_and_leaves_input_alone():
    x = minicnn.tensor(rand(4, 5, 6))
    before = x.numpy().copy()
    F.dropout(x, 0.5, inplace=True)
    F.dropout2d(x, 0.5, inplace=True)
    np.testing.assert_array_equal(x.numpy(), before)


@pytest.mark.parametrize("drop,shape", [
    (F.dropout, (3, 4)), (F.dropout2d, (2, 3, 2, 2)), (F.dropout2d, (3, 2, 2)),
])
def test_gradcheck(drop, shape):
    x = minicnn.tensor(rand(*shape), requires_grad=True)

    def seeded(t):  # the same mask on every evaluation, so finite differences see one function
        minicnn.manual_seed(7)
        return drop(t, 0.4)

    assert minicnn.gradcheck(seeded, [x])


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("drop", [F.dropout, F.dropout2d])
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_unit_interval(drop, p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
        drop(minicnn.tensor(rand(2, 3, 4, 4)), p)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4, 5, 6)])
def test_dropout2d_rejects_other_ranks(shape):
    message = f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {shape}"
    with pytest.raises(ValueError, match=re.escape(message)):
        F.dropout2d(minicnn.tensor(rand(*shape)), 0.5)


@pytest.mark.parametrize("drop,name", [(F.dropout, "dropout"), (F.dropout2d, "dropout2d")])
def test_integer_input_is_rejected(drop, name):
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point input, got int64"):
        drop(minicnn.tensor(np.ones((2, 3, 4, 4), dtype=np.int64)), 0.5)
