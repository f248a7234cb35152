"""Pooling ops against torch.nn.functional: outputs, indices (exactly), input gradients, on every
backend here (parity.sweep / parity.implementations inject them).

Inputs are fresh standard-normal draws, so max windows have no ties (test_pooling_ties.py makes
them). Shapes are tiny; the sweeps (helpers.cases) cover odd/even sizes, non-square
kernels/strides/paddings, strides that do not divide the size, dilation, ceil_mode, overlapping
windows (stride < kernel: gradient accumulation), batch 1, an empty batch and unbatched
(C, H, W) input.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import minicnn
import minicnn.nn.functional as F
from minicnn.autograd import gradcheck
from helpers.cases import AVG_CASES, MAX_CASES, as_params
from parity import assert_close, call_on, check, implementations, rand, run_both, sweep, to_numpy


def _run_pool(name: str, backend: str, shape: tuple, dtype, **kwargs):
    """Run F.<name>(x, **kwargs) in minicnn (on ``backend``) and torch on one fresh input; back-propagate."""
    return run_both(call_on(name, backend, **kwargs), rand(*shape, dtype=dtype))


# ---------------------------------------------------------------------------- max_pool2d
@pytest.mark.parametrize("backend, shape, kwargs", sweep("max_pool2d", as_params(MAX_CASES)))
def test_max_pool2d_matches_torch(backend, shape, kwargs, dtype):
    mini, ref = _run_pool("max_pool2d", backend, shape, dtype, return_indices=True, **kwargs)
    check(mini, ref, dtype, f"max_pool2d[{backend}] {shape} {kwargs}")  # indices compared exactly


def test_max_pool2d_without_indices_returns_the_values():
    x = rand(2, 3, 5, 5)
    values = F.max_pool2d(minicnn.tensor(x), 3, 2, 1)
    assert isinstance(values, minicnn.Tensor)
    np.testing.assert_array_equal(values.numpy(), to_numpy(tF.max_pool2d(torch.tensor(x), 3, 2, 1)))


@pytest.mark.parametrize("name", ["max_pool2d", "adaptive_max_pool2d"])
def test_indices_are_int64_and_not_differentiable(name):
    x = minicnn.tensor(rand(2, 3, 6, 6), requires_grad=True)
    values, indices = getattr(F, name)(x, 3, return_indices=True)
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert values.requires_grad


# The corner cases run on every backend, numba_cuda under the simulator too (tiny shapes).
ALL_MAX_POOLS = implementations("max_pool2d", simulator=True)


@pytest.mark.parametrize("backend", ALL_MAX_POOLS)
def test_max_pool2d_all_minus_inf_windows_report_torch_indices(backend):
    """A window that is all -inf (padding included) has no real winner; torch reports its first
    tap at or after the top/left border. Values, indices and gradients must still agree."""
    x = rand(1, 2, 6, 7)
    x[0, 0, :3, :4] = -np.inf
    x[0, 1, 2:5, 3:] = -np.inf
    kwargs = dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2), return_indices=True)
    mini, ref = run_both(call_on("max_pool2d", backend, **kwargs), x, seed_grad=False)
    (mini_values, mini_indices), (ref_values, ref_indices) = mini.out, ref.out
    np.testing.assert_array_equal(mini_values.numpy(), to_numpy(ref_values))
    np.testing.assert_array_equal(mini_indices.numpy(), to_numpy(ref_indices))
    grad = rand(*mini_values.shape)
    mini_values.backward(minicnn.tensor(grad))
    ref_values.backward(torch.tensor(grad))
    assert_close(mini.inputs[0].grad, ref.inputs[0].grad, what="max_pool2d -inf windows: input grad")


@pytest.mark.parametrize("backend", ALL_MAX_POOLS)
def test_max_pool2d_nan_takes_over_and_a_windows_last_nan_is_its_winner(backend):
    """torch's scan replaces the max when a value is larger or NaN: a NaN wins over every number,
    and of two NaNs in one window the later (row-major) one is the reported index and gets the
    gradient. Windows with one NaN, two NaNs, a NaN first and a NaN in the padding's neighbour."""
    x = rand(2, 2, 5, 6)
    x[0, 0, 0, 1] = np.nan  # window (0, 0): one NaN
    x[0, 0, 0, 2] = x[0, 0, 1, 3] = np.nan  # window (0, 1): two NaNs, the later at (1, 3)
    x[1, 1, 2, 2] = x[1, 1, 3, 3] = np.nan  # overlapping windows of the strided, padded pool below
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        mini, ref = run_both(call_on("max_pool2d", backend, return_indices=True, **kwargs), x, seed_grad=False)
        (mini_values, mini_indices), (ref_values, ref_indices) = mini.out, ref.out
        np.testing.assert_array_equal(mini_values.numpy(), to_numpy(ref_values))  # NaN == NaN here
        np.testing.assert_array_equal(mini_indices.numpy(), to_numpy(ref_indices))
        grad = rand(*mini_values.shape)
        mini_values.backward(minicnn.tensor(grad))
        ref_values.backward(torch.tensor(grad))
        assert_close(mini.inputs[0].grad, ref.inputs[0].grad, what=f"max_pool2d NaN windows {kwargs}: input grad")


@pytest.mark.parametrize("backend", ALL_MAX_POOLS)
def test_max_pool2d_window_over_padding_only_gets_no_gradient(backend):
    """Dilation 2 over a 1-pixel-high input with padding 1 reads rows -1 and 1: every window
    sees only padding, so the output is -inf and depends on no input — the gradient is zero
    (torch reports the same indices but leaks the gradient into the next channel)."""
    kwargs = dict(kernel_size=2, stride=1, padding=1, dilation=2, return_indices=True)
    mini, ref = run_both(call_on("max_pool2d", backend, **kwargs), rand(1, 3, 1, 4), seed_grad=False)
    (values, indices), (ref_values, ref_indices) = mini.out, ref.out
    np.testing.assert_array_equal(values.numpy(), to_numpy(ref_values))
    np.testing.assert_array_equal(indices.numpy(), to_numpy(ref_indices))
    assert np.isneginf(values.numpy()).all()
    values.backward(minicnn.tensor(rand(*values.shape)))
    x = mini.inputs[0]
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(x.shape))


@pytest.mark.parametrize("backend", ALL_MAX_POOLS)
def test_max_pool2d_gradient_is_sparse_and_accumulates_on_shared_winners(backend):
    """Hand arithmetic: a 1x3 row pooled with kernel 2, stride 1 has windows [0,1] and [1,2];
    when the middle pixel is the largest it wins both and receives both gradients."""
    mini, _ = run_both(call_on("max_pool2d", backend, kernel_size=(1, 2), stride=1), np.array([[[[0.5, 2.0, -1.0]]]]),
                       seed_grad=False)
    mini.out.backward(minicnn.tensor(np.array([[[[3.0, 4.0]]]])))
    np.testing.assert_array_equal(mini.inputs[0].grad.numpy(), [[[[0.0, 7.0, 0.0]]]])


# ---------------------------------------------------------------------------- avg_pool2d
@pytest.mark.parametrize("count_include_pad", [True, False], ids=["include-pad", "exclude-pad"])
@pytest.mark.parametrize("backend, shape, kwargs", sweep("avg_pool2d", as_params(AVG_CASES)))
def test_avg_pool2d_matches_torch(backend, shape, kwargs, count_include_pad, dtype):
    mini, ref = _run_pool("avg_pool2d", backend, shape, dtype, count_include_pad=count_include_pad, **kwargs)
    check(mini, ref, dtype, f"avg_pool2d[{backend}] {shape} {kwargs} count_include_pad={count_include_pad}")


@pytest.mark.parametrize("divisor", [5, -2])
@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((2, 2, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ((3, 5, 5), dict(kernel_size=2)),
    ],
    ids=["ceil-pad", "unbatched"],
)
def test_avg_pool2d_divisor_override_matches_torch(shape, kwargs, divisor, dtype):
    mini, ref = _run_pool("avg_pool2d", "numpy", shape, dtype, divisor_override=divisor, **kwargs)
    check(mini, ref, dtype, f"avg_pool2d {shape} {kwargs} divisor_override={divisor}")


def test_avg_pool2d_hand_divisors_in_ceil_mode():
    """Ones through kernel 3, stride 2, padding 1, ceil_mode on a 4-pixel axis: windows
    [-1,2) [1,4) [3,6); the last is cut at the padded border 5, so it counts 2 positions
    (pixel 3 and one padding), not 3 — with count_include_pad it averages to 1/2 per axis."""
    ones = minicnn.tensor(np.ones((1, 1, 4, 4)))
    out = F.avg_pool2d(ones, 3, 2, 1, ceil_mode=True, count_include_pad=True).numpy()[0, 0]
    per_axis = np.array([2 / 3, 1.0, 1 / 2])
    np.testing.assert_allclose(out, np.outer(per_axis, per_axis), rtol=1e-15)


# ---------------------------------------------------------------------------- adaptive
ADAPTIVE_CASES = {
    "7-to-3": ((2, 3, 7, 7), 3),
    "10x9-to-4x3": ((2, 2, 10, 9), (4, 3)),
    "5x6-upsample-to-7": ((1, 2, 5, 6), 7),
    "none-keeps-height": ((2, 2, 7, 8), (None, 3)),
    "none-keeps-width": ((2, 2, 6, 5), [2, None]),
    "global": ((2, 2, 6, 5), 1),
    "identity": ((2, 2, 4, 3), (4, 3)),
    "unbatched": ((3, 7, 5), (3, 2)),
    "empty-batch": ((0, 2, 5, 5), 2),
}


@pytest.mark.parametrize("backend, shape, output_size", sweep("adaptive_avg_pool2d", as_params(ADAPTIVE_CASES)))
def test_adaptive_avg_pool2d_matches_torch(backend, shape, output_size, dtype):
    mini, ref = _run_pool("adaptive_avg_pool2d", backend, shape, dtype, output_size=output_size)
    check(mini, ref, dtype, f"adaptive_avg_pool2d[{backend}] {shape} -> {output_size}")


@pytest.mark.parametrize("backend, shape, output_size", sweep("adaptive_max_pool2d", as_params(ADAPTIVE_CASES)))
def test_adaptive_max_pool2d_matches_torch(backend, shape, output_size, dtype):
    mini, ref = _run_pool("adaptive_max_pool2d", backend, shape, dtype, output_size=output_size, return_indices=True)
    check(mini, ref, dtype, f"adaptive_max_pool2d[{backend}] {shape} -> {output_size}")


@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_empty_output_size(name):
    """output_size 0 gives an empty output, as in torch; no output depends on the input, so
    the input gradient is zero (torch itself refuses to back-propagate an empty output)."""
    x = rand(2, 2, 5, 5)
    mini = minicnn.tensor(x, requires_grad=True)
    out = getattr(F, name)(mini, (0, 2))
    assert out.shape == tuple(getattr(tF, name)(torch.tensor(x), (0, 2)).shape) == (2, 2, 0, 2)
    out.sum().backward()
    np.testing.assert_array_equal(mini.grad.numpy(), np.zeros(x.shape))


def test_adaptive_max_pool2d_without_indices_returns_the_values():
    x = rand(2, 3, 7, 5)
    values = F.adaptive_max_pool2d(minicnn.tensor(x), (3, 2))
    assert isinstance(values, minicnn.Tensor)
    np.testing.assert_array_equal(values.numpy(), to_numpy(tF.adaptive_max_pool2d(torch.tensor(x), (3, 2))))


@pytest.mark.parametrize(
    "name, args",
    [("max_pool2d", (3, 2, 1)), ("avg_pool2d", (3, 2, 1)), ("adaptive_avg_pool2d", (3,)),
     ("adaptive_max_pool2d", (3,))],
)
def test_non_contiguous_input_matches_torch(name, args, dtype):
    """A channels-last array seen through permute: the strided window view must use the
    input's own strides, not assume a contiguous layout."""
    mini, ref = run_both(
        lambda lib, Fn, x: getattr(Fn, name)(x.permute(0, 3, 1, 2), *args), rand(2, 7, 6, 3, dtype=dtype)
    )
    check(mini, ref, dtype, f"{name} on a permuted input")


# ---------------------------------------------------------------------------- gradcheck
def _leaf(*shape):
    return minicnn.tensor(rand(*shape), requires_grad=True)


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (1, 2, 6, 5)),
        (lambda x: F.max_pool2d(x, (2, 3), 1, (1, 0), dilation=(2, 1)), (2, 1, 5, 5)),
        (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 6, 5)),
        (lambda x: F.avg_pool2d(x, (3, 2), 1, (1, 1), divisor_override=4), (2, 5, 4)),
        (lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (1, 2, 7, 3)),
        (lambda x: F.adaptive_max_pool2d(x, (3, 4)), (1, 2, 7, 3)),
    ],
    ids=["max-ceil", "max-dilation-overlap", "avg-ceil-exclude-pad", "avg-divisor-unbatched",
         "adaptive-avg", "adaptive-max"],
)
def test_gradcheck(fn, shape):
    assert gradcheck(fn, [_leaf(*shape)])


# ---------------------------------------------------------------------------- errors
OK = (2, 3, 6, 6)
ERROR_CASES = [
    # op, input shape, positional args, keyword args, exception, message pattern
    pytest.param("max_pool2d", (6, 6), (2,), {}, RuntimeError,
                 r"max_pool2d: expected a 3D .* got input of shape \(6, 6\)", id="max-2d-input"),
    pytest.param("avg_pool2d", (1, 1, 2, 6, 6), (2,), {}, RuntimeError,
                 r"avg_pool2d: expected a 3D .*\(1, 1, 2, 6, 6\)", id="avg-5d-input"),
    pytest.param("adaptive_avg_pool2d", (6, 6), (2,), {}, RuntimeError,
                 r"adaptive_avg_pool2d: expected a 3D", id="aavg-2d-input"),
    pytest.param("adaptive_max_pool2d", (1, 1, 1, 6, 6), (2,), {}, RuntimeError,
                 r"adaptive_max_pool2d: expected a 3D", id="amax-5d-input"),
    pytest.param("max_pool2d", (1, 0, 6, 6), (2,), {}, RuntimeError,
                 r"max_pool2d: expected non-zero channels.*\(1, 0, 6, 6\)", id="max-no-channels"),
    pytest.param("adaptive_avg_pool2d", (1, 1, 0, 6), (2,), {}, RuntimeError,
                 r"adaptive_avg_pool2d: expected non-zero", id="aavg-no-height"),
    pytest.param("adaptive_max_pool2d", (2, 4, 0), (2,), {}, RuntimeError,
                 r"adaptive_max_pool2d: expected non-zero", id="amax-no-width"),
    pytest.param("max_pool2d", OK, (0,), {}, RuntimeError,
                 r"max_pool2d: kernel size should be greater than zero.*\(0, 0\)", id="max-kernel-0"),
    pytest.param("avg_pool2d", OK, ((1, -1),), {}, RuntimeError,
                 r"avg_pool2d: kernel size should be greater than zero.*\(1, -1\)",
                 id="avg-kernel-negative"),
    pytest.param("max_pool2d", OK, (2, 0), {}, RuntimeError,
                 r"max_pool2d: stride should be greater than zero", id="max-stride-0"),
    pytest.param("avg_pool2d", OK, (2, (2, 0)), {}, RuntimeError,
                 r"avg_pool2d: stride should be greater than zero.*\(2, 0\)", id="avg-stride-0"),
    pytest.param("max_pool2d", OK, (2,), dict(dilation=0), RuntimeError,
                 r"max_pool2d: dilation should be greater than zero", id="max-dilation-0"),
    pytest.param("max_pool2d", OK, (3, 1, -1), {}, RuntimeError,
                 r"max_pool2d: pad must be non-negative", id="max-padding-negative"),
    pytest.param("avg_pool2d", OK, (3, 1, (0, -1)), {}, RuntimeError,
                 r"avg_pool2d: pad must be non-negative", id="avg-padding-negative"),
    pytest.param("max_pool2d", OK, (3, 1, 2), {}, RuntimeError,
                 r"max_pool2d: pad should be at most half of kernel size", id="max-pad-over-half"),
    pytest.param("max_pool2d", OK, (2, 1, 2, 3), {}, RuntimeError,
                 r"max_pool2d: pad should be at most half", id="max-pad-over-half-dilated"),
    pytest.param("avg_pool2d", OK, ((3, 4), 1, (2, 0)), {}, RuntimeError,
                 r"avg_pool2d: pad should be at most half", id="avg-pad-over-half"),
    pytest.param("max_pool2d", OK, (7,), {}, RuntimeError,
                 r"max_pool2d: Given input size: \(3x6x6\)\. Calculated output size: \(3x0x0\)\. "
                 r"Output size is too small", id="max-output-too-small"),
    pytest.param("max_pool2d", (3, 6, 8), (3, 1, 0, 3), {}, RuntimeError,
                 r"Calculated output size: \(3x0x2\)\. Output size is too small", id="max-dilated-too-small"),
    pytest.param("avg_pool2d", OK, ((2, 7),), {}, RuntimeError,
                 r"avg_pool2d: Given input size: \(3x6x6\)\. Calculated output size: \(3x3x0\)",
                 id="avg-output-too-small"),
    pytest.param("max_pool2d", OK, ((1, 2, 3),), {}, RuntimeError,
                 r"max_pool2d: kernel_size must either be a single int, or a tuple of two ints",
                 id="max-kernel-3-tuple"),
    pytest.param("avg_pool2d", OK, (2, (1, 2, 3)), {}, RuntimeError,
                 r"avg_pool2d: stride must either be a single int", id="avg-stride-3-tuple"),
    pytest.param("max_pool2d", OK, (2.0,), {}, TypeError,
                 r"max_pool2d: kernel_size must be an int or a tuple of two ints, got 2\.0",
                 id="max-kernel-float"),
    pytest.param("avg_pool2d", OK, (2,), dict(divisor_override=0), RuntimeError,
                 r"avg_pool2d: divisor must be not zero", id="avg-divisor-0"),
    pytest.param("avg_pool2d", OK, (2,), dict(divisor_override=1.5), TypeError,
                 r"avg_pool2d: divisor_override must be an int", id="avg-divisor-float"),
    pytest.param("adaptive_avg_pool2d", OK, ((1, 2, 3),), {}, RuntimeError,
                 r"adaptive_avg_pool2d: output_size must be 2", id="aavg-output-3-tuple"),
    pytest.param("adaptive_max_pool2d", OK, (-1,), {}, RuntimeError,
                 r"adaptive_max_pool2d: elements of output_size must be greater than or equal to 0",
                 id="amax-output-negative"),
    pytest.param("adaptive_avg_pool2d", OK, ((2, 2.5),), {}, TypeError,
                 r"adaptive_avg_pool2d: output_size must be an int or a tuple", id="aavg-output-float"),
    pytest.param("adaptive_max_pool2d", OK, (("a", 2),), {}, TypeError,
                 r"adaptive_max_pool2d: output_size must be an int or a tuple", id="amax-output-str"),
]


# What torch says for each of ERROR_CASES (the start of its message): the oracle refuses the call too.
TORCH_SAYS = {
    "max-2d-input": r"non-empty 3D or 4D \(batch mode\) tensor expected",
    "avg-5d-input": r"Expected 3D or 4D \(batch mode\) tensor with",
    "aavg-2d-input": r"adaptive_avg_pool2d\(\): Expected 3D or 4D",
    "amax-5d-input": r"adaptive_max_pool2d\(\): Expected 3D or 4D",
    "max-no-channels": r"Expected 3D or 4D \(batch mode\) tensor with",
    "aavg-no-height": r"adaptive_avg_pool2d\(\): Expected input to have",
    "amax-no-width": r"adaptive_max_pool2d\(\): Expected input to have",
    "max-kernel-0": r"stride should not be zero",
    "avg-kernel-negative": r"kernel size should be greater than zero, but",
    "max-stride-0": r"stride should not be zero",
    "avg-stride-0": r"stride should not be zero",
    "max-dilation-0": r"dilation should be greater than zero, but got",
    "max-padding-negative": r"pad must be non-negative, but got pad: -1",
    "avg-padding-negative": r"pad must be non-negative, but got pad: -1",
    "max-pad-over-half": r"pad should be at most half of effective kernel",
    "max-pad-over-half-dilated": r"pad should be smaller than or equal to half of",
    "avg-pad-over-half": r"pad should be at most half of effective kernel",
    "max-output-too-small": r"Given input size: \(3x6x6\)\. Calculated output",
    "max-dilated-too-small": r"Given input size: \(3x6x8\)\. Calculated output",
    "avg-output-too-small": r"Given input size: \(3x6x6\)\. Calculated output",
    "max-kernel-3-tuple": r"max_pool2d: kernel_size must either be a single",
    "avg-stride-3-tuple": r"avg_pool2d: stride must either be omitted, a",
    "max-kernel-float": r"max_pool2d\(\): argument 'kernel_size' \(position",
    "avg-divisor-0": r"divisor must be not zero",
    "avg-divisor-float": r"avg_pool2d\(\): argument 'divisor_override' must",
    "aavg-output-3-tuple": r"adaptive_avg_pool2d: output_size must be 2",
    "amax-output-negative": r"Trying to create tensor with negative dimension",
    "aavg-output-float": r"adaptive_avg_pool2d\(\): argument 'output_size'",
    "amax-output-str": r"adaptive_max_pool2d\(\): argument 'output_size'",
}


@pytest.mark.parametrize("op, shape, args, kwargs, error, pattern, torch_pattern",
                         [pytest.param(*case.values, TORCH_SAYS[case.id], id=case.id) for case in ERROR_CASES])
def test_bad_arguments_raise_clear_errors(op, shape, args, kwargs, error, pattern, torch_pattern):
    x = rand(*shape)
    with pytest.raises(error, match=pattern):
        getattr(F, op)(minicnn.tensor(x), *args, **kwargs)
    with pytest.raises(error, match=torch_pattern):  # the oracle agrees that the call is invalid
        getattr(tF, op)(torch.tensor(x), *args, **kwargs)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_non_tensor_and_integer_inputs_are_rejected(op):
    with pytest.raises(TypeError, match=rf"{op}: expected input to be a Tensor, got ndarray"):
        getattr(F, op)(rand(1, 2, 4, 4), 2)
    with pytest.raises(TypeError, match=rf"{op}: expected a floating-point input, got dtype int64"):
        getattr(F, op)(minicnn.tensor(np.ones((1, 2, 4, 4), dtype=np.int64)), 2)
