"""torch's behaviour at the edges, op by op: one table of cases, each run in minicnn and torch.

The classes of input swept here are the ones programs meet without meaning to: an empty batch
(the last, ragged batch of a filtered data set), an empty dim (a softmax over zero classes),
normalization over zero samples, bounds given as tensors, rounded division, softmax's
``dtype=``, and torch's legacy rules (``cat`` skips an empty 1-D tensor whatever the others'
shape). For every case the two libraries must agree on whether it raises (and with which
exception type; minicnn's message is matched too), on the number of outputs, and on each
output's shape, dtype and values; then one random upstream gradient goes back through both and
every input gradient must agree in presence, shape, dtype and value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import minicnn
import minicnn.nn.functional as mF
from parity import assert_close, rand

_rng = np.random.default_rng()


@dataclass
class Case:
    """``fn(lib, F, *tensors)`` on ``inputs(dtype)``; ``grad``: which inputs require grad.

    ``raises``: the exception type both libraries raise, and ``match`` a regex for minicnn's
    message. ``warns``: torch warns here (minicnn too, or not: only the result is compared).
    """

    fn: Callable
    inputs: Callable = lambda dtype: ()
    grad: tuple = ()
    raises: type | None = None
    match: str = ""
    floats: bool = True  # the case runs for float64 and float32; else once, for the given dtypes
    kwargs: dict = field(default_factory=dict)


def ints(*values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def empty(*shape):
    return lambda dtype: (np.zeros(shape, dtype=dtype),)


def batch_norm_module(lib, F, x):
    """A BatchNorm2d in training with non-trivial running statistics, after one batch ``x``."""
    m = lib.nn.BatchNorm2d(3)
    with lib.no_grad():
        m.running_mean.copy_(lib.tensor([0.5, -1.0, 2.0]))
        m.running_var.copy_(lib.tensor([2.0, 0.5, 1.5]))
    m = m.to(x.dtype)
    y = m(x)
    return y, m.running_mean, m.running_var, m.num_batches_tracked


CASES = {
    # ------------------------------------------------------------ an empty batch through the layers
    "conv2d_empty_batch": Case(
        lambda L, F, x, w, b: F.conv2d(x, w, b, padding=1),
        lambda d: (np.zeros((0, 3, 5, 5), d), rand(4, 3, 3, 3, dtype=d), rand(4, dtype=d)), (0, 1, 2)),
    "conv2d_output_would_be_empty_raises": Case(
        lambda L, F, x, w: F.conv2d(x, w), lambda d: (rand(1, 3, 2, 2, dtype=d), rand(4, 3, 3, 3, dtype=d)),
        raises=RuntimeError, match="Kernel size can't be greater than actual input size"),
    "conv2d_empty_batch_stride": Case(
        lambda L, F, x, w: F.conv2d(x, w, stride=2, dilation=2),
        lambda d: (np.zeros((0, 2, 7, 6), d), rand(4, 2, 2, 3, dtype=d)), (0, 1)),
    "max_pool2d_empty_batch": Case(lambda L, F, x: F.max_pool2d(x, 2), empty(0, 3, 5, 5), (0,)),
    "max_pool2d_empty_batch_indices": Case(
        lambda L, F, x: F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True), empty(0, 2, 6, 6), (0,)),
    "avg_pool2d_empty_batch_padding": Case(
        lambda L, F, x: F.avg_pool2d(x, 2, padding=1, count_include_pad=False), empty(0, 3, 4, 4), (0,)),
    "avg_pool2d_empty_batch": Case(lambda L, F, x: F.avg_pool2d(x, 2, ceil_mode=True), empty(0, 3, 5, 5), (0,)),
    "adaptive_avg_pool2d_empty_batch": Case(lambda L, F, x: F.adaptive_avg_pool2d(x, (2, 3)), empty(0, 3, 5, 5), (0,)),
    "adaptive_max_pool2d_empty_batch": Case(lambda L, F, x: F.adaptive_max_pool2d(x, 2), empty(0, 3, 5, 5), (0,)),
    "pool_empty_plane_raises": Case(
        lambda L, F, x: F.max_pool2d(x, 1), empty(1, 2, 0, 4), raises=RuntimeError, match="max_pool2d"),
    "linear_empty_batch": Case(
        lambda L, F, x, w, b: F.linear(x, w, b),
        lambda d: (np.zeros((0, 3), d), rand(4, 3, dtype=d), rand(4, dtype=d)), (0, 1, 2)),
    "linear_zero_features": Case(
        lambda L, F, x, w, b: F.linear(x, w, b),
        lambda d: (np.zeros((2, 0), d), np.zeros((4, 0), d), rand(4, dtype=d)), (0, 1, 2)),
    "matmul_empty_rows": Case(lambda L, F, a, b: a @ b, lambda d: (np.zeros((0, 3), d), rand(3, 2, dtype=d)), (0, 1)),
    "matmul_empty_inner": Case(lambda L, F, a, b: a @ b, lambda d: (np.zeros((2, 0), d), np.zeros((0, 3), d)), (0, 1)),
    "relu_empty": Case(lambda L, F, x: F.relu(x), empty(0, 3), (0,)),
    "sigmoid_empty": Case(lambda L, F, x: x.sigmoid(), empty(0, 3), (0,)),
    "dropout_empty": Case(lambda L, F, x: F.dropout(x, 0.5, training=True), empty(0, 3), (0,)),
    "flatten_empty": Case(lambda L, F, x: x.flatten(1), empty(0, 3, 2), (0,)),
    "view_empty_infer": Case(lambda L, F, x: x.view(-1, 3), empty(0, 3), (0,)),
    "reshape_empty_ambiguous": Case(
        lambda L, F, x: x.reshape(0, -1), empty(0, 3), raises=RuntimeError, match="ambiguous"),
    "split_empty": Case(lambda L, F, x: x.split(2), empty(0, 3), (0,)),
    "split_sizes_empty": Case(lambda L, F, x: x.split([0, 0], dim=0), empty(0, 3), (0,)),
    "chunk_empty": Case(lambda L, F, x: x.chunk(3), empty(0, 3), (0,)),
    "expand_empty": Case(lambda L, F, x: x.expand(0, 4), empty(0, 1), (0,)),
    "where_empty": Case(lambda L, F, a, b: L.where(a > 0, a, b), lambda d: (np.zeros((0, 2), d), np.zeros((0, 2), d)), (0, 1)),
    "index_empty": Case(lambda L, F, x: x[L.tensor(np.zeros(0, np.int64))], lambda d: (rand(3, 2, dtype=d),), (0,)),
    # ------------------------------------------------------------ losses over an empty batch
    "cross_entropy_empty_mean": Case(
        lambda L, F, x: F.cross_entropy(x, L.zeros(0, dtype=L.int64)), empty(0, 3), (0,)),
    "cross_entropy_empty_sum": Case(
        lambda L, F, x: F.cross_entropy(x, L.zeros(0, dtype=L.int64), reduction="sum"), empty(0, 3), (0,)),
    "cross_entropy_empty_none": Case(
        lambda L, F, x: F.cross_entropy(x, L.zeros(0, dtype=L.int64), reduction="none"), empty(0, 3), (0,)),
    "cross_entropy_empty_spatial": Case(
        lambda L, F, x: F.cross_entropy(x, L.zeros(0, 2, 2, dtype=L.int64)), empty(0, 3, 2, 2), (0,)),
    "cross_entropy_all_ignored": Case(
        lambda L, F, x: F.cross_entropy(x, L.tensor([-100, -100])), lambda d: (rand(2, 3, dtype=d),), (0,)),
    "nll_loss_empty_sum": Case(
        lambda L, F, x: F.nll_loss(x, L.zeros(0, dtype=L.int64), reduction="sum"), empty(0, 3), (0,)),
    "nll_loss_empty_mean": Case(lambda L, F, x: F.nll_loss(x, L.zeros(0, dtype=L.int64)), empty(0, 3), (0,)),
    "mse_loss_empty_mean": Case(lambda L, F, x, t: F.mse_loss(x, t), lambda d: empty(0, 3)(d) * 2, (0, 1)),
    "mse_loss_empty_sum": Case(lambda L, F, x, t: F.mse_loss(x, t, reduction="sum"), lambda d: empty(0, 3)(d) * 2, (0, 1)),
    "l1_loss_empty_mean": Case(lambda L, F, x, t: F.l1_loss(x, t), lambda d: empty(0, 3)(d) * 2, (0,)),
    "bce_empty_mean": Case(lambda L, F, x, t: F.binary_cross_entropy(x, t), lambda d: empty(0, 3)(d) * 2, (0,)),
    "bce_with_logits_empty_sum": Case(
        lambda L, F, x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"), lambda d: empty(0, 3)(d) * 2, (0,)),
    # ------------------------------------------------------------ normalization over zero samples
    "batch_norm_train_empty": Case(
        lambda L, F, x, m, v: (F.batch_norm(x, m, v, training=True), m, v),
        lambda d: (np.zeros((0, 3, 2, 2), d), rand(3, dtype=d), np.abs(rand(3, dtype=d)) + 0.5), (0,)),
    "batch_norm_eval_empty": Case(
        lambda L, F, x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False),
        lambda d: (np.zeros((0, 3), d), rand(3, dtype=d), np.abs(rand(3, dtype=d)) + 0.5, rand(3, dtype=d),
                   rand(3, dtype=d)), (0, 3, 4)),
    "BatchNorm2d_train_empty_keeps_running_stats": Case(batch_norm_module, empty(0, 3, 2, 2), (0,)),
    "group_norm_empty": Case(
        lambda L, F, x, w, b: F.group_norm(x, 2, w, b),
        lambda d: (np.zeros((0, 4, 2, 2), d), rand(4, dtype=d), rand(4, dtype=d)), (0, 1, 2)),
    "batch_norm1d_train_empty_3d": Case(
        lambda L, F, x, m, v: (F.batch_norm(x, m, v, training=True), m, v),
        lambda d: (np.zeros((0, 3, 4), d), rand(3, dtype=d), np.abs(rand(3, dtype=d)) + 0.5), (0,)),
    "batch_norm_train_one_value_raises": Case(
        lambda L, F, x: F.batch_norm(x, None, None, training=True), lambda d: (rand(1, 3, dtype=d),),
        raises=ValueError, match="Expected more than 1 value per channel when training"),
    "dropout2d_empty": Case(lambda L, F, x: F.dropout2d(x, 0.3, training=True), empty(0, 3, 2, 2), (0,)),
    "layer_norm_empty": Case(
        lambda L, F, x, w, b: F.layer_norm(x, (4,), w, b),
        lambda d: (np.zeros((0, 4), d), rand(4, dtype=d), rand(4, dtype=d)), (0, 1, 2)),
    # ------------------------------------------------------------ softmax: empty dims and dtype=
    "softmax_empty_dim": Case(lambda L, F, x: F.softmax(x, dim=1), empty(2, 0), (0,)),
    "softmax_empty_batch": Case(lambda L, F, x: F.softmax(x, dim=1), empty(0, 3), (0,)),
    "log_softmax_empty_dim": Case(lambda L, F, x: F.log_softmax(x, dim=-1), empty(3, 0), (0,)),
    "softmax_dtype": Case(lambda L, F, x: F.softmax(x, dim=1, dtype=L.float64),
                          lambda d: (rand(2, 5, dtype=np.float32),), (0,), floats=False),
    "log_softmax_dtype": Case(lambda L, F, x: F.log_softmax(x, 0, dtype=L.float64),
                              lambda d: (rand(4, 3, dtype=np.float32),), (0,), floats=False),
    "tensor_softmax_dtype": Case(lambda L, F, x: x.softmax(-1, dtype=L.float32),
                                 lambda d: (rand(2, 3, dtype=np.float64),), (0,), floats=False),
    "tensor_log_softmax_dtype": Case(lambda L, F, x: x.log_softmax(1, dtype=L.float64),
                                     lambda d: (rand(2, 3, dtype=np.float32),), (0,), floats=False),
    # ------------------------------------------------------------ reductions over empty dims
    "sum_empty_dim": Case(lambda L, F, x: x.sum(0), empty(0, 3), (0,)),
    "sum_empty_dim_list_means_all": Case(lambda L, F, x: x.sum(dim=[]), lambda d: (rand(2, 3, dtype=d),), (0,)),
    "std_of_one_value": Case(lambda L, F, x: x.std(0), lambda d: (rand(1, 3, dtype=d),), (0,)),
    "mean_of_integers_with_dtype": Case(lambda L, F, x: x.mean(dtype=L.float64), lambda d: (ints(1, 2, 4),), floats=False),
    "sum_all_empty": Case(lambda L, F, x: x.sum(), empty(0, 3), (0,)),
    "mean_empty_dim": Case(lambda L, F, x: x.mean(0), empty(0, 3), (0,)),
    "mean_all_empty": Case(lambda L, F, x: x.mean(), empty(0), (0,)),
    "var_empty_dim": Case(lambda L, F, x: x.var(0), empty(0, 3)),
    "max_empty_dim_raises": Case(lambda L, F, x: x.max(0), empty(0, 3), raises=IndexError,
                                 match=r"max\(\): Expected reduction dim 0 to have non-zero size"),
    "min_empty_dim_raises": Case(lambda L, F, x: x.min(dim=-2), empty(0, 3), raises=IndexError, match="non-zero size"),
    "max_all_empty_raises": Case(lambda L, F, x: x.max(), empty(0, 3), raises=RuntimeError,
                                 match="Expected reduction dim to be specified"),
    "argmax_all_empty_raises": Case(lambda L, F, x: x.argmax(), empty(0, 3), raises=IndexError,
                                    match="Expected reduction dim to be specified"),
    "max_other_dim_of_empty": Case(lambda L, F, x: L.max(x, 1), empty(0, 3), (0,)),
    "argmin_other_dim_of_empty": Case(lambda L, F, x: x.argmin(1), empty(0, 3)),
    # ------------------------------------------------------------ cat's legacy rule, stack of empties
    "cat_empty_1d_first": Case(lambda L, F, e, x: L.cat([e, x]), lambda d: (np.zeros(0, d), rand(2, 3, dtype=d)), (0, 1)),
    "cat_empty_1d_between": Case(
        lambda L, F, a, e, b: L.cat([a, e, b]), lambda d: (rand(2, 3, dtype=d), np.zeros(0, d), rand(1, 3, dtype=d)), (0, 1, 2)),
    "cat_empty_1d_dim1": Case(lambda L, F, x, e: L.cat([x, e], dim=1), lambda d: (rand(2, 3, dtype=d), np.zeros(0, d)), (0, 1)),
    "cat_empty_1d_promotes": Case(lambda L, F, e, x: L.cat([e, x]), lambda d: (np.zeros(0, d), ints(1, 2, 3)[None]), floats=True),
    "cat_all_empty_1d": Case(lambda L, F, a, b: L.cat([a, b]), lambda d: (np.zeros(0, d), np.zeros(0, d)), (0, 1)),
    "cat_empty_2d": Case(lambda L, F, a, b: L.cat([a, b]), lambda d: (np.zeros((0, 3), d), rand(2, 3, dtype=d)), (0, 1)),
    "cat_empty_2d_mismatch_raises": Case(
        lambda L, F, a, b: L.cat([a, b]), lambda d: (np.zeros((0, 3), d), rand(2, 4, dtype=d)),
        raises=RuntimeError, match="Sizes of tensors must match except in dimension 0"),
    "stack_empties": Case(lambda L, F, a, b: L.stack([a, b], 1), lambda d: (np.zeros((0, 3), d), np.zeros((0, 3), d)), (0, 1)),
    # ------------------------------------------------------------ division with a rounding mode
    "div_trunc": Case(lambda L, F, a, b: L.div(a, b, rounding_mode="trunc"),
                      lambda d: (rand(3, 4, dtype=d) * 5, rand(4, dtype=d)), (0, 1)),
    "div_floor": Case(lambda L, F, a, b: a.div(b, rounding_mode="floor"),
                      lambda d: (rand(3, 4, dtype=d) * 5, rand(3, 1, dtype=d)), (0, 1)),
    # torch has no derivative for // (floor_divide): compared forward only.
    "floordiv_operator": Case(lambda L, F, a, b: a // b, lambda d: (rand(5, dtype=d) * 5, rand(5, dtype=d))),
    "div_floor_scalar": Case(lambda L, F, a: L.div(a, -0.75, rounding_mode="floor"), lambda d: (rand(6, dtype=d) * 3,), (0,)),
    "div_trunc_int": Case(lambda L, F, a, b: L.div(a, b, rounding_mode="trunc"),
                          lambda d: (ints(7, -7, 5, -5, 0, 9), ints(2, 2, -2, -2, 3, -4)), floats=False),
    "div_floor_int": Case(lambda L, F, a, b: L.div(a, b, rounding_mode="floor"),
                          lambda d: (ints(7, -7, 5, -5, 0, 9), ints(2, 2, -2, -2, 3, -4)), floats=False),
    "div_trunc_int_scalar": Case(lambda L, F, a: a.div(3, rounding_mode="trunc"), lambda d: (ints(7, -7, 8, -8),), floats=False),
    "div_true_int": Case(lambda L, F, a, b: L.div(a, b), lambda d: (ints(7, -7, 5), ints(2, 2, -2)), floats=False),
    "div_int_by_float_floor": Case(lambda L, F, a: L.div(a, 2.5, rounding_mode="floor"), lambda d: (ints(7, -7, 5),), floats=False),
    "div_bad_rounding_mode": Case(lambda L, F, a: L.div(a, 2, rounding_mode="round"), lambda d: (ints(7, -7),),
                                  raises=RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor'",
                                  floats=False),
    # ------------------------------------------------------------ clamp with tensor bounds
    "clamp_tensor_bounds": Case(lambda L, F, x, lo, hi: L.clamp(x, min=lo, max=hi),
                                lambda d: (rand(4, 5, dtype=d), rand(4, 5, dtype=d) - 0.5, rand(4, 5, dtype=d) + 0.5),
                                (0, 1, 2)),
    "clamp_crossed_bounds": Case(lambda L, F, x, lo, hi: x.clamp(lo, hi),
                                 lambda d: (rand(4, 5, dtype=d), rand(4, 5, dtype=d), rand(4, 5, dtype=d)), (0, 1, 2)),
    "clamp_broadcast_min": Case(lambda L, F, x, lo: x.clamp(min=lo), lambda d: (rand(3, 4, dtype=d), rand(4, dtype=d)), (0, 1)),
    "clamp_0d_max": Case(lambda L, F, x, hi: x.clamp(max=hi), lambda d: (rand(3, 4, dtype=d), rand(dtype=d)), (0, 1)),
    "clamp_ties_at_bounds": Case(lambda L, F, x, lo, hi: x.clamp(lo, hi),
                                 lambda d: (np.array([1., 2., 3.], d), np.array([1., 0., 3.], d), np.array([2., 2., 3.], d)),
                                 (0, 1, 2)),
    "clamp_int_with_float_bound": Case(lambda L, F, x: x.clamp(min=1.5), lambda d: (ints(0, 1, 2, 3),), floats=False),
    "clamp_float32_with_float64_0d": Case(lambda L, F, x, lo: x.clamp(min=lo),
                                          lambda d: (rand(5, dtype=np.float32), rand(dtype=np.float64)), (0, 1), floats=False),
    "clamp_empty": Case(lambda L, F, x, lo: x.clamp(min=lo), lambda d: (np.zeros((0, 3), d), rand(3, dtype=d)), (0, 1)),
}


def _as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def _call(lib, F, case: Case, arrays, dtype):
    tensors = []
    for i, a in enumerate(arrays):
        t = lib.tensor(a.copy())
        if i in case.grad:
            t.requires_grad_(True)
        tensors.append(t)
    return case.fn(lib, F, *tensors), tensors


def _compare(mini, ref, dtype, what: str) -> None:
    """Shape, dtype and values; ``dtype``: the precision the case computes in (float32 if mixed)."""
    assert tuple(mini.shape) == tuple(ref.shape), f"{what}: shape {tuple(mini.shape)} != torch {tuple(ref.shape)}"
    assert _dtype_name(mini) == _dtype_name(ref), f"{what}: dtype {mini.dtype} != torch {ref.dtype}"
    if ref.dtype.is_floating_point:
        assert_close(mini, ref, dtype or np.float32, what)
    else:
        np.testing.assert_array_equal(mini.detach().numpy(), ref.detach().numpy(), err_msg=what)


def _params():
    for name, case in CASES.items():
        for dtype in ((np.float64, np.float32) if case.floats else (None,)):
            suffix = "" if dtype is None else "-" + np.dtype(dtype).name
            yield pytest.param(name, dtype, id=name + suffix)


@pytest.mark.filterwarnings("ignore")  # torch warns on some empty reductions; the values are compared
@pytest.mark.parametrize("name, dtype", list(_params()))
def test_edge_matches_torch(name, dtype):
    case = CASES[name]
    arrays = case.inputs(dtype or np.float64)
    if case.raises is not None:
        with pytest.raises(case.raises):
            _call(torch, tF, case, arrays, dtype)
        with pytest.raises(case.raises, match=case.match):
            _call(minicnn, mF, case, arrays, dtype)
        return
    (out_m, ins_m), (out_t, ins_t) = _call(minicnn, mF, case, arrays, dtype), _call(torch, tF, case, arrays, dtype)
    outs_m, outs_t = _as_tuple(out_m), _as_tuple(out_t)
    assert len(outs_m) == len(outs_t), f"{name}: {len(outs_m)} outputs, torch gives {len(outs_t)}"
    for k, (om, ot) in enumerate(zip(outs_m, outs_t)):
        _compare(om, ot, dtype, f"{name}: output {k}")
    for om, ot in zip(outs_m, outs_t):
        assert om.requires_grad == ot.requires_grad, f"{name}: requires_grad {om.requires_grad} != torch {ot.requires_grad}"
        if ot.requires_grad:
            g = _rng.standard_normal(tuple(ot.shape)).astype(_dtype_name(ot))
            om.backward(minicnn.tensor(g), retain_graph=True)
            ot.backward(torch.tensor(g), retain_graph=True)
    for k, (tm, tt) in enumerate(zip(ins_m, ins_t)):
        assert (tm.grad is None) == (tt.grad is None), f"{name}: input {k} grad {tm.grad} vs torch {tt.grad}"
        if tt.grad is not None:
            _compare(tm.grad, tt.grad, dtype, f"{name}: grad of input {k}")

