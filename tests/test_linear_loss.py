"""linear and the losses: parity with torch (outputs and every gradient), gradcheck, errors."""
import importlib
import re
import warnings

import numpy as np
import pytest
import torch

import minicnn
import minicnn.nn.functional as F
from parity import RNG, check, rand, run_both

# `minicnn.functional.linear` as an attribute is the function (star-imported over the module).
linear_module = importlib.import_module("minicnn.functional.linear")

REDUCTIONS = ["none", "sum", "mean"]
_rng = RNG  # parity's generator, reseeded before every test (conftest.py)


def _positive(*shape, dtype=np.float64):
    return (np.abs(rand(*shape)) + 0.2).astype(dtype)


def _probabilities(*shape, dtype=np.float64):
    """Random values strictly inside (0, 1), away from the ends where BCE's slope explodes."""
    return (0.05 + 0.9 * _rng.random(shape)).astype(dtype)


# --------------------------------------------------------------------------- linear
@pytest.mark.parametrize("input_shape", [(5, 7), (2, 3, 7), (7,), (2, 1, 3, 7)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
def test_linear_matches_torch(input_shape, with_bias, dtype):
    x, weight, bias = rand(*input_shape, dtype=dtype), rand(4, 7, dtype=dtype), rand(4, dtype=dtype)
    mini, ref = run_both(
        lambda lib, F, x, w, b: F.linear(x, w, b if with_bias else None),
        x, weight, bias, requires_grad=[True, True, with_bias],
    )
    check(mini, ref, dtype, "linear")


@pytest.mark.parametrize("with_bias", [True, False])
def test_gradcheck_linear(with_bias):
    x = minicnn.tensor(rand(2, 3, 4), requires_grad=True)
    weight = minicnn.tensor(rand(5, 4), requires_grad=True)
    bias = minicnn.tensor(rand(5), requires_grad=True) if with_bias else None
    assert minicnn.gradcheck(F.linear, [x, weight, bias])


def test_linear_feature_mismatch_names_both_shapes():
    message = (
        "linear: input has 400 features (shape (64, 400)) but weight expects 256 "
        "(weight shape (120, 256))"
    )
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.linear(minicnn.zeros(64, 400), minicnn.zeros(120, 256))


@pytest.mark.parametrize("name", ["weight", "bias"])
def test_linear_dtype_mismatch(name):
    tensors = {"weight": minicnn.zeros(3, 4), "bias": minicnn.zeros(3)}
    tensors[name] = tensors[name].double()
    message = f"linear: {name} dtype float64 does not match input dtype float32"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.linear(minicnn.zeros(2, 4), tensors["weight"], tensors["bias"])


def test_linear_device_mismatch(monkeypatch):
    weight = minicnn.zeros(3, 4)
    # No GPU is needed to check the message: make the weight's array report itself as on cuda.
    monkeypatch.setattr(linear_module, "device_of", lambda a: "cuda" if a is weight.array else "cpu")
    message = "linear: expected all tensors on the same device, but input is on cpu and weight is on cuda"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.linear(minicnn.zeros(2, 4), weight)


def test_linear_bias_shape():
    message = "linear: expected bias of shape (3,) for weight (3, 4), got (7,)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.linear(minicnn.zeros(2, 4), minicnn.zeros(3, 4), minicnn.zeros(7))


def test_linear_weight_must_be_a_matrix():
    message = "linear: expected a 2-D weight (out_features, in_features), got shape (4,)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.linear(minicnn.zeros(2, 4), minicnn.zeros(4))


def test_linear_input_must_have_a_feature_dim():
    with pytest.raises(RuntimeError, match="linear: input must have at least 1 dim"):
        F.linear(minicnn.tensor(1.0), minicnn.zeros(3, 1))


# --------------------------------------------------------------------------- cross_entropy / nll
def _class_targets(batch_shape, n_classes, ignore_index):
    """Random class indices with a few entries set to ignore_index (always at least one)."""
    target = _rng.integers(0, n_classes, size=batch_shape)
    flat = target.reshape(-1)
    flat[_rng.random(flat.size) < 0.25] = ignore_index
    flat[0] = ignore_index
    return target


CLASS_SHAPES = [(6, 5), (3, 5, 4), (2, 5, 3, 2), (5,)]  # (N, C), (N, C, d1), (N, C, d1, d2), unbatched (C,)


def _batch_shape(shape):
    return () if len(shape) == 1 else (shape[0],) + shape[2:]


@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore_index", [-100, 2])  # 2 is a real class: its targets must be skipped
def test_cross_entropy_class_targets_match_torch(
    shape, reduction, weighted, label_smoothing, ignore_index, dtype
):
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    x, weight = rand(*shape, dtype=dtype), _positive(n_classes, dtype=dtype)
    target = _class_targets(_batch_shape(shape), n_classes, ignore_index)
    if target.ndim == 0:  # unbatched: a single target, which must not be ignored
        target = np.array(1)
    mini, ref = run_both(
        lambda lib, F, x, t, w: F.cross_entropy(
            x, t, w if weighted else None, ignore_index=ignore_index, reduction=reduction,
            label_smoothing=label_smoothing,
        ),
        x, target, weight, requires_grad=[True, False, False],
    )
    check(mini, ref, dtype, "cross_entropy")


@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 4), (2, 5, 3, 2), (5,)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets_match_torch(shape, reduction, weighted, label_smoothing, dtype):
    class_dim = 0 if len(shape) == 1 else 1
    x, weight = rand(*shape, dtype=dtype), _positive(shape[class_dim], dtype=dtype)
    # Rows that do not sum to 1 exercise the general gradient (Σq)·softmax - q; torch allows them.
    target = _positive(*shape, dtype=dtype)
    # torch differentiates the loss with respect to the target and the weight here too.
    mini, ref = run_both(
        lambda lib, F, x, t, w: F.cross_entropy(
            x, t, w if weighted else None, reduction=reduction, label_smoothing=label_smoothing
        ),
        x, target, weight, requires_grad=[True, True, weighted],
    )
    check(mini, ref, dtype, "cross_entropy (probabilities)")


@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_nll_loss_matches_torch(shape, reduction, weighted, dtype):
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    x, weight = rand(*shape, dtype=dtype), _positive(n_classes, dtype=dtype)
    target = _class_targets(_batch_shape(shape), n_classes, -100) if len(shape) > 1 else np.array(3)
    mini, ref = run_both(
        lambda lib, F, x, t, w: F.nll_loss(x, t, w if weighted else None, reduction=reduction),
        x, target, weight, requires_grad=[True, False, False],
    )
    check(mini, ref, dtype, "nll_loss")


def test_cross_entropy_accepts_uint8_targets():
    x, target = rand(4, 3), np.array([0, 2, 1, 2], dtype=np.uint8)
    mini, ref = run_both(lambda lib, F, x, t: F.cross_entropy(x, t), x, target)
    check(mini, ref, np.float64, "cross_entropy uint8")


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_mean_over_all_ignored_targets_is_nan_with_zero_gradient_as_in_torch(
    op, weighted, label_smoothing, dtype
):
    x, weight, target = rand(3, 4, 2, dtype=dtype), _positive(4, dtype=dtype), np.full((3, 2), -100)
    extra = {"label_smoothing": label_smoothing} if op == "cross_entropy" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mini, ref = run_both(
            lambda lib, F, x, t, w: getattr(F, op)(x, t, w if weighted else None, **extra),
            x, target, weight, requires_grad=[True, False, False],
        )
    # What the comparison relies on: torch's loss is NaN and its input gradient a plain number.
    assert ref.out.isnan().item() and not ref.inputs[0].grad.isnan().any()
    check(mini, ref, dtype, op)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_all_targets_ignored(label_smoothing):
    x = minicnn.tensor(rand(3, 4))
    target = minicnn.tensor(np.full(3, -100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 / 0, as torch: the mean of nothing
        assert np.isnan(F.cross_entropy(x, target, label_smoothing=label_smoothing).item())
    assert F.cross_entropy(x, target, reduction="sum").item() == 0.0
    np.testing.assert_array_equal(F.cross_entropy(x, target, reduction="none").numpy(), np.zeros(3))


@pytest.mark.parametrize("probabilities", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradcheck_cross_entropy(probabilities, weighted):
    x = minicnn.tensor(rand(3, 4, 2), requires_grad=True)
    if probabilities:
        target = minicnn.tensor(_probabilities(3, 4, 2), requires_grad=True)
    else:
        target = minicnn.tensor(np.array([[0, 3], [-100, 1], [2, 2]]))
    weight = minicnn.tensor(_positive(4), requires_grad=probabilities) if weighted else None
    assert minicnn.gradcheck(
        lambda x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.1), [x, target, weight]
    )


def test_gradcheck_nll_loss():
    x = minicnn.tensor(rand(4, 3), requires_grad=True)
    target = minicnn.tensor(np.array([0, 2, -100, 1]))
    weight = minicnn.tensor(_positive(3))
    assert minicnn.gradcheck(lambda x: F.nll_loss(x, target, weight), [x])


@pytest.mark.parametrize("size_average,reduce", [(None, False), (False, None), (True, True), (False, True)])
def test_legacy_size_average_and_reduce(size_average, reduce):
    x, target = rand(4, 3), np.array([0, 2, 1, 1])
    legacy = {"size_average": size_average, "reduce": reduce}
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        mini = F.cross_entropy(minicnn.tensor(x), minicnn.tensor(target), **legacy)
    with pytest.warns(UserWarning):
        ref = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(target), **legacy)
    np.testing.assert_allclose(mini.numpy(), ref.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- regression losses
@pytest.mark.parametrize("op", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_regression_losses_match_torch(op, shape, reduction, weighted, dtype):
    x, target, weight = rand(*shape, dtype=dtype), rand(*shape, dtype=dtype), _positive(*shape, dtype=dtype)
    mini, ref = run_both(
        lambda lib, F, x, t, w: getattr(F, op)(x, t, reduction=reduction, weight=w if weighted else None),
        x, target, weight, requires_grad=[True, True, weighted],
    )
    check(mini, ref, dtype, op)


@pytest.mark.parametrize("op", ["mse_loss", "l1_loss"])
def test_regression_losses_broadcast_a_smaller_target_with_a_warning(op, dtype):
    x, target = rand(3, 1, dtype=dtype), rand(4, dtype=dtype)
    with pytest.warns(UserWarning, match="Using a target size"):
        mini, ref = run_both(lambda lib, F, x, t: getattr(F, op)(x, t), x, target)
    check(mini, ref, dtype, op)


@pytest.mark.parametrize("op", ["mse_loss", "l1_loss"])
def test_gradcheck_regression_losses(op):
    x = minicnn.tensor(rand(3, 4), requires_grad=True)
    target = minicnn.tensor(rand(4), requires_grad=True)  # broadcast along the rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert minicnn.gradcheck(lambda x, t: getattr(F, op)(x, t), [x, target])


# --------------------------------------------------------------------------- binary cross entropy
@pytest.mark.parametrize("shape", [(6,), (4, 3), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_cross_entropy_matches_torch(shape, reduction, weighted, dtype):
    x, target = _probabilities(*shape, dtype=dtype), _probabilities(*shape, dtype=dtype)
    weight = _positive(shape[-1], dtype=dtype)  # broadcast along the last dim
    mini, ref = run_both(
        lambda lib, F, x, t, w: F.binary_cross_entropy(x, t, w if weighted else None, reduction=reduction),
        x, target, weight, requires_grad=[True, True, False],
    )
    check(mini, ref, dtype, "binary_cross_entropy")


def test_binary_cross_entropy_at_zero_and_one_is_clamped_like_torch():
    x, target = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) before the clamp at -100
        mini, ref = run_both(lambda lib, F, x, t: F.binary_cross_entropy(x, t, reduction="none"),
                             x, target, requires_grad=[True, False])
    check(mini, ref, np.float64, "binary_cross_entropy at 0 and 1")


@pytest.mark.parametrize("shape", [(6,), (4, 3), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("with_pos_weight", [False, True], ids=["plain", "pos_weight"])
def test_binary_cross_entropy_with_logits_matches_torch(shape, reduction, weighted, with_pos_weight, dtype):
    x, target = rand(*shape, dtype=dtype) * 3, _probabilities(*shape, dtype=dtype)
    weight, pos_weight = _positive(shape[-1], dtype=dtype), _positive(shape[-1], dtype=dtype)
    mini, ref = run_both(
        lambda lib, F, x, t, w, pw: F.binary_cross_entropy_with_logits(
            x, t, w if weighted else None, reduction=reduction, pos_weight=pw if with_pos_weight else None
        ),
        x, target, weight, pos_weight, requires_grad=[True, True, False, False],
    )
    check(mini, ref, dtype, "binary_cross_entropy_with_logits")


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    x, target = np.array([-800.0, -40.0, 40.0, 800.0]), np.array([1.0, 0.3, 0.7, 0.0])
    pos_weight = np.array([2.0, 0.5, 1.5, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        mini, ref = run_both(
            lambda lib, F, x, t, pw: F.binary_cross_entropy_with_logits(
                x, t, reduction="none", pos_weight=pw
            ),
            x, target, pos_weight, requires_grad=[True, True, False],
        )
    check(mini, ref, np.float64, "binary_cross_entropy_with_logits, huge logits")


def test_gradcheck_binary_cross_entropy():
    x = minicnn.tensor(_probabilities(3, 4), requires_grad=True)
    target = minicnn.tensor(_probabilities(3, 4), requires_grad=True)
    weight = minicnn.tensor(_positive(4))
    assert minicnn.gradcheck(lambda x, t: F.binary_cross_entropy(x, t, weight), [x, target])


def test_gradcheck_binary_cross_entropy_with_logits():
    x = minicnn.tensor(rand(3, 4) * 3, requires_grad=True)
    target = minicnn.tensor(_probabilities(3, 4), requires_grad=True)
    pos_weight = minicnn.tensor(_positive(4))
    assert minicnn.gradcheck(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight), [x, target]
    )


# --------------------------------------------------------------------------- errors
def _logits(*shape):
    return minicnn.tensor(rand(*shape))


def _probs(*shape):
    return minicnn.tensor(_probabilities(*shape))


def _labels(*values):
    return minicnn.tensor(np.array(values))


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [10, -3])
def test_target_out_of_bounds(op, bad):
    message = (
        f"{op}: Target {bad} is out of bounds. "
        "Expected class indices in [0, 9] (input has 10 classes) or ignore_index=-100."
    )
    with pytest.raises(IndexError, match=re.escape(message)):
        getattr(F, op)(_logits(4, 10), _labels(0, 1, bad, 2))


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_float_target_where_class_indices_expected(op):
    message = f"{op}: expected a target of integer class indices (shape (4,)), got dtype float64"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        getattr(F, op)(_logits(4, 10), minicnn.tensor(rand(4)))


def test_integer_target_shaped_like_input_is_not_probabilities():
    message = "cross_entropy: Expected floating point type for target with class probabilities, got int64"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.cross_entropy(_logits(4, 3), minicnn.tensor(np.zeros((4, 3), dtype=np.int64)))


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_batch_size_mismatch(op):
    message = f"{op}: Expected input batch_size (4) to match target batch_size (3)."
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(F, op)(_logits(4, 10), _labels(0, 1, 2))


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_spatial_shape_mismatch(op):
    message = f"{op}: expected target of shape (2, 4, 5) for input of shape (2, 3, 4, 5), got (2, 4, 6)"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        getattr(F, op)(_logits(2, 3, 4, 5), minicnn.tensor(np.zeros((2, 4, 6), dtype=np.int64)))


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_class_weight_shape_and_dtype(op):
    message = (
        f"{op}: weight tensor should be defined either for all 10 classes or no classes but got weight "
        "tensor of shape: [5]"
    )
    with pytest.raises(RuntimeError, match=re.escape(message)):
        getattr(F, op)(_logits(4, 10), _labels(0, 1, 2, 3), minicnn.ones(5, dtype=minicnn.float64))
    with pytest.raises(RuntimeError, match=f"{op}: weight dtype float32 does not match input dtype float64"):
        getattr(F, op)(_logits(4, 10), _labels(0, 1, 2, 3), minicnn.ones(10))


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_class_losses_reject_integer_and_scalar_input(op):
    with pytest.raises(TypeError, match=f"{op}: expected floating-point input of shape"):
        getattr(F, op)(minicnn.tensor(np.zeros((4, 3), dtype=np.int64)), _labels(0, 1, 2, 0))
    message = f"{op}: expected input of shape (N, C, *) or (C,), got a 0-d tensor"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        getattr(F, op)(minicnn.tensor(1.0), _labels(0))


@pytest.mark.parametrize("smoothing", [1.5, -0.1])
def test_label_smoothing_outside_unit_interval(smoothing):
    message = f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {smoothing}"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.cross_entropy(_logits(4, 3), _labels(0, 1, 2, 0), label_smoothing=smoothing)


CALLS_WITH_BAD_REDUCTION = {
    "cross_entropy": lambda: F.cross_entropy(_logits(4, 3), _labels(0, 1, 2, 0), reduction="avg"),
    "nll_loss": lambda: F.nll_loss(_logits(4, 3), _labels(0, 1, 2, 0), reduction="avg"),
    "mse_loss": lambda: F.mse_loss(_logits(4), _logits(4), reduction="avg"),
    "l1_loss": lambda: F.l1_loss(_logits(4), _logits(4), reduction="avg"),
    "binary_cross_entropy": lambda: F.binary_cross_entropy(_probs(4), _probs(4), reduction="avg"),
    "binary_cross_entropy_with_logits":
        lambda: F.binary_cross_entropy_with_logits(_logits(4), _probs(4), reduction="avg"),
}


@pytest.mark.parametrize("op", list(CALLS_WITH_BAD_REDUCTION))
def test_bad_reduction_string(op):
    message = f"{op}: 'avg' is not a valid value for reduction (expected 'none', 'mean' or 'sum')"
    with pytest.raises(ValueError, match=re.escape(message)):
        CALLS_WITH_BAD_REDUCTION[op]()


@pytest.mark.parametrize("op", ["mse_loss", "l1_loss"])
def test_regression_target_that_does_not_broadcast(op):
    message = f"{op}: target of shape (4,) does not broadcast with input of shape (3, 2)"
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match=re.escape(message)):
        getattr(F, op)(_logits(3, 2), _logits(4))


@pytest.mark.parametrize("op", ["mse_loss", "l1_loss"])
def test_regression_weight_must_match_input(op):
    message = f"{op}: Weights and input must have the same size (weight (2,), input (3,))"
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(F, op)(_logits(3), _logits(3), weight=_logits(2))


@pytest.mark.parametrize("name,x,t", [
    ("input", np.array([0.5, 1.5]), np.array([0.5, 0.5])),
    ("target", np.array([0.5, 0.5]), np.array([-0.5, 0.5])),
])
def test_binary_cross_entropy_values_outside_unit_interval(name, x, t):
    message = f"binary_cross_entropy: all elements of {name} should be between 0 and 1"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.binary_cross_entropy(minicnn.tensor(x), minicnn.tensor(t))


@pytest.mark.parametrize("op", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_binary_losses_need_same_shape_target(op):
    message = f"{op}: Target size (3,) must be the same as input size (3, 1)"
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(F, op)(_probs(3, 1), _probs(3))


@pytest.mark.parametrize("name", ["weight", "pos_weight"])
def test_binary_cross_entropy_with_logits_weights_must_broadcast(name):
    message = (
        f"binary_cross_entropy_with_logits: {name} of shape (2,) does not broadcast to input shape (4, 3)"
    )
    with pytest.raises(RuntimeError, match=re.escape(message)):
        F.binary_cross_entropy_with_logits(_logits(4, 3), _probs(4, 3), **{name: _logits(2)})
