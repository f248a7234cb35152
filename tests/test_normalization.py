"""batch_norm, layer_norm, group_norm: parity with torch for outputs, every gradient and the
running statistics; gradcheck; every error."""
import re

import numpy as np
import pytest
import torch

import minicnn
import minicnn.nn.functional as F
from parity import assert_close, check, rand, run_both

# Normalizing a batch of 2 divides by a small, noisy std: float32 rounding is amplified a little.
SCALE_RTOL = 5.0


def _positive(*shape, dtype=np.float64):
    return (np.abs(rand(*shape)) + 0.5).astype(dtype)


def _run_batch_norm(shape, dtype, training, momentum, affine, with_stats, weight_only=False):
    """Run batch_norm in both libraries; return the result bundles and each library's running stats."""
    channels = shape[1]
    x, weight, bias = rand(*shape, dtype=dtype), rand(channels, dtype=dtype), rand(channels, dtype=dtype)
    running = (rand(channels, dtype=dtype), _positive(channels, dtype=dtype))
    stats = {}

    def fn(lib, F, x, weight, bias):
        rm, rv = (lib.tensor(a.copy()) for a in running) if with_stats else (None, None)
        stats[lib.__name__] = rm, rv
        return F.batch_norm(
            x, rm, rv, weight if affine else None, None if weight_only or not affine else bias,
            training=training, momentum=momentum,
        )

    mini, ref = run_both(fn, x, weight, bias, requires_grad=[True, affine, affine and not weight_only])
    return mini, ref, stats["minicnn"], stats["torch"]


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 5), (2, 3, 4, 5), (5, 2, 3, 3)], ids=str)
@pytest.mark.parametrize("training,with_stats", [(True, True), (True, False), (False, True)],
                         ids=["train", "train-no-stats", "eval"])
@pytest.mark.parametrize("momentum", [0.1, 0.75])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_matches_torch(shape, training, with_stats, momentum, affine, dtype):
    mini, ref, mini_stats, torch_stats = _run_batch_norm(shape, dtype, training, momentum, affine, with_stats)
    check(mini, ref, dtype, "batch_norm", SCALE_RTOL)
    for name, m, t in zip(("running_mean", "running_var"), mini_stats, torch_stats):
        if with_stats:
            assert_close(m, t, dtype, name)


@pytest.mark.parametrize("training,with_stats", [(True, True), (True, False), (False, True)],
                         ids=["train", "train-no-stats", "eval"])
def test_batch_norm_batch_of_two_vectors(training, with_stats):
    """(2, C): two values per channel normalize to exactly ±1 whatever the input, so in training
    the input gradient is only an eps-sized remainder; float64 resolves it, float32 rounding
    does not (in torch either), hence float64 only."""
    mini, ref, mini_stats, torch_stats = _run_batch_norm((2, 3), np.float64, training, 0.1, True, with_stats)
    check(mini, ref, np.float64, "batch_norm (2, C)")
    for name, m, t in zip(("running_mean", "running_var"), mini_stats, torch_stats):
        if with_stats:
            assert_close(m, t, np.float64, name)


def test_batch_norm_weight_without_bias(dtype):
    mini, ref, _, _ = _run_batch_norm((3, 4, 2, 2), dtype, True, 0.1, True, True, weight_only=True)
    check(mini, ref, dtype, "batch_norm weight only", SCALE_RTOL)


def test_batch_norm_running_stats_over_several_steps_with_cumulative_momentum(dtype):
    """The module's momentum=None passes 1/k on step k: the running stats become plain averages."""
    running = (rand(3, dtype=dtype), _positive(3, dtype=dtype))
    mini_rm, mini_rv = (minicnn.tensor(a.copy()) for a in running)
    torch_rm, torch_rv = (torch.tensor(a.copy()) for a in running)
    batches = [rand(4, 3, 2, dtype=dtype) for _ in range(3)]
    for k, x in enumerate(batches, start=1):
        F.batch_norm(minicnn.tensor(x), mini_rm, mini_rv, training=True, momentum=1 / k)
        torch.nn.functional.batch_norm(torch.tensor(x), torch_rm, torch_rv, training=True, momentum=1 / k)
    assert_close(mini_rm, torch_rm, dtype, "running_mean")
    assert_close(mini_rv, torch_rv, dtype, "running_var")
    unbiased = [x.var(axis=(0, 2), ddof=1) for x in batches]
    np.testing.assert_allclose(mini_rv.numpy(), np.mean(unbiased, axis=0), rtol=1e-5)


def test_batch_norm_updates_the_running_buffers_in_place():
    rm, rv = minicnn.zeros(3, dtype=minicnn.float64), minicnn.ones(3, dtype=minicnn.float64)
    arrays = rm.array, rv.array
    F.batch_norm(minicnn.tensor(rand(4, 3)), rm, rv, training=True)
    assert rm.array is arrays[0] and rv.array is arrays[1]
    assert not np.array_equal(rm.numpy(), np.zeros(3))


def test_batch_norm_eval_accepts_a_single_sample(dtype):
    mini, ref, _, _ = _run_batch_norm((1, 3), dtype, False, 0.1, True, True)
    check(mini, ref, dtype, "batch_norm eval N=1")


@pytest.mark.parametrize("shape,normalized_shape", [
    ((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 3, 4, 5), (5,)), ((2, 3, 4, 5), (3, 4, 5)), ((3, 6), 6),
], ids=str)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_layer_norm_matches_torch(shape, normalized_shape, affine, dtype):
    param_shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = rand(*shape, dtype=dtype)
    weight, bias = rand(*param_shape, dtype=dtype), rand(*param_shape, dtype=dtype)
    torch_shape = list(param_shape)  # torch's functional form wants a sequence

    def fn(lib, F, x, weight, bias):
        size = normalized_shape if lib is minicnn else torch_shape
        return F.layer_norm(x, size, weight if affine else None, bias if affine else None)

    mini, ref = run_both(fn, x, weight, bias, requires_grad=[True, affine, affine])
    check(mini, ref, dtype, "layer_norm", SCALE_RTOL)


@pytest.mark.parametrize("shape,groups", [
    ((2, 6, 3, 3), 1), ((2, 6, 3, 3), 2), ((2, 6, 3, 3), 3), ((2, 6, 3, 3), 6), ((3, 4, 5), 2), ((2, 6), 2),
], ids=str)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_group_norm_matches_torch(shape, groups, affine, dtype):
    channels = shape[1]
    x, weight, bias = rand(*shape, dtype=dtype), rand(channels, dtype=dtype), rand(channels, dtype=dtype)
    mini, ref = run_both(
        lambda lib, F, x, w, b: F.group_norm(x, groups, w if affine else None, b if affine else None),
        x, weight, bias, requires_grad=[True, affine, affine],
    )
    check(mini, ref, dtype, "group_norm", SCALE_RTOL)


@pytest.mark.parametrize("op", ["layer_norm", "group_norm"])
def test_bias_without_weight(op, dtype):
    x, bias = rand(2, 4, 4, dtype=dtype), rand(4, dtype=dtype)  # 4 channels and 4 trailing values

    def fn(lib, F, x, b):
        # torch 2.13's group_norm backward fails for a bias without a weight ("tensor does not
        # have a device"), so torch gets the equivalent all-ones weight there.
        ones = None if lib is minicnn else lib.ones(4, dtype=x.dtype)
        if op == "layer_norm":
            return F.layer_norm(x, [4], None, b)
        return F.group_norm(x, 2, ones, b)

    mini, ref = run_both(fn, x, bias)
    check(mini, ref, dtype, op, SCALE_RTOL)


# --------------------------------------------------------------------------- gradcheck
def _params(n, with_params):
    return (minicnn.tensor(rand(n), requires_grad=True) if with_params else None for _ in range(2))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2), (2, 3, 2, 2)], ids=str)
@pytest.mark.parametrize("with_params", [True, False])
def test_gradcheck_batch_norm(training, shape, with_params):
    x = minicnn.tensor(rand(*shape), requires_grad=True)
    weight, bias = _params(shape[1], with_params)
    running = rand(shape[1]), _positive(shape[1])

    def bn(x, weight, bias):  # fresh running stats per call: the update must not drift between calls
        rm, rv = (minicnn.tensor(a.copy()) for a in running)
        return F.batch_norm(x, rm, rv, weight, bias, training=training)

    assert minicnn.gradcheck(bn, [x, weight, bias])


@pytest.mark.parametrize("with_params", [True, False])
def test_gradcheck_layer_norm(with_params):
    x = minicnn.tensor(rand(2, 3, 4), requires_grad=True)
    weight = minicnn.tensor(rand(3, 4), requires_grad=True) if with_params else None
    bias = minicnn.tensor(rand(3, 4), requires_grad=True) if with_params else None
    assert minicnn.gradcheck(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), [x, weight, bias])


@pytest.mark.parametrize("with_params", [True, False])
def test_gradcheck_group_norm(with_params):
    x = minicnn.tensor(rand(2, 4, 3), requires_grad=True)
    weight, bias = _params(4, with_params)
    assert minicnn.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [x, weight, bias])


# --------------------------------------------------------------------------- errors
def _t(*shape, dtype=np.float64):
    return minicnn.tensor(rand(*shape, dtype=dtype))


@pytest.mark.parametrize("position,name", [
    (1, "running_mean"), (2, "running_var"), (3, "weight"), (4, "bias"),
])
def test_batch_norm_parameter_with_wrong_channel_count(position, name):
    args = [_t(4, 16, 3), _t(16), _t(16), _t(16), _t(16)]
    args[position] = _t(8)
    message = f"batch_norm: expected {name} with C=16 features, got shape (8,)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.batch_norm(*args, training=True)


def test_batch_norm_parameter_with_wrong_dtype():
    message = "batch_norm: weight dtype float32 does not match input dtype float64"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.batch_norm(_t(4, 3), _t(3), _t(3), _t(3, dtype=np.float32), training=True)


def test_batch_norm_needs_a_channel_dim():
    message = "batch_norm: expected input of shape (N, C, *) with at least 2 dims, got (4,)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.batch_norm(_t(4), None, None, training=True)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1, 1)], ids=str)
def test_batch_norm_training_needs_more_than_one_value_per_channel(shape):
    message = f"Expected more than 1 value per channel when training, got input size {list(shape)}"
    with pytest.raises(ValueError, match=re.escape(message)):
        F.batch_norm(_t(*shape), _t(3), _t(3), training=True)


def test_batch_norm_eval_needs_running_stats():
    message = "batch_norm: running_mean must be defined in evaluation mode (training=False)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.batch_norm(_t(4, 3), None, None, training=False)


def test_batch_norm_running_stats_come_in_pairs():
    with pytest.raises(RuntimeError, match="batch_norm: running_mean and running_var must be given together"):
        F.batch_norm(_t(4, 3), _t(3), None, training=True)


def test_layer_norm_shape_mismatch():
    message = (
        "layer_norm: Given normalized_shape=[4], expected input with shape [*, 4], but got input of size "
        "[2, 3, 5]"
    )
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.layer_norm(_t(2, 3, 5), [4])


def test_layer_norm_longer_than_input():
    message = (
        "layer_norm: Given normalized_shape=[2, 3, 5], expected input with shape [*, 2, 3, 5], but got "
        "input of size [3, 5]"
    )
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.layer_norm(_t(3, 5), [2, 3, 5])


@pytest.mark.parametrize("name", ["weight", "bias"])
def test_layer_norm_parameter_shape(name):
    kwargs = {name: _t(4)}
    message = f"layer_norm: expected {name} with normalized_shape (5,), got shape (4,)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.layer_norm(_t(2, 3, 5), [5], **kwargs)


@pytest.mark.parametrize("groups", [4, 0])
def test_group_norm_groups_must_divide_channels(groups):
    message = (
        "group_norm: Expected number of channels in input to be divisible by num_groups, but got input "
        f"of shape [2, 6, 4] and num_groups={groups}"
    )
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.group_norm(_t(2, 6, 4), groups)


def test_group_norm_parameter_shape():
    message = "group_norm: expected weight with C=6 features, got shape (4,)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.group_norm(_t(2, 6, 4), 3, _t(4))


def test_group_norm_needs_a_channel_dim():
    message = "group_norm: expected input of shape (N, C, *) with at least 2 dims, got (6,)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.group_norm(_t(6), 3)


def test_group_norm_single_value_groups_as_torch():
    message = "group_norm: Expected more than 1 value per channel when training, got input size [1, 3]"
    with pytest.raises(ValueError, match=re.escape(message)):
        F.group_norm(_t(1, 3), 3)
