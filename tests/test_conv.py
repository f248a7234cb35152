"""conv2d against torch.nn.functional.conv2d: output and all gradients, both dtypes.

The geometry sweep runs on every implementation here, backend x algorithm, as parity.sweep
injects them (numba's own kernels, the GPU backends where present); the rest of the file runs
the generic NumPy code (im2col in each of its column orders, and direct)."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
import minicnn.nn.functional as F
from minicnn.functional import conv
from minicnn.backends import registry
from minicnn.geometry import output_length
from minicnn.tuned.numpy import im2col, workspace
from helpers.cases import CONV_CASES, conv_both, conv_inputs
from parity import assert_close, call_on, check, rand, run_both, sweep

# torch warns that it pads a copy of the input for "same" with an even kernel; that is torch's business.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


COLUMN_ORDERS = {"batch_innermost": im2col.BATCH_INNERMOST, "sample_major": im2col.SAMPLE_MAJOR}


@pytest.fixture(params=["im2col/batch_innermost", "im2col/sample_major", "direct"])
def algorithm(request, monkeypatch):
    """An algorithm name; im2col runs in each of its column orders, whatever the layer would pick."""
    name, _, order = request.param.partition("/")
    if order:
        monkeypatch.setattr(im2col, "column_order", lambda batch, geom: COLUMN_ORDERS[order])
    return name


@pytest.fixture(params=list(COLUMN_ORDERS))
def column_order(request, monkeypatch):
    """im2col made to build its columns in each order, whatever the layer would pick."""
    monkeypatch.setattr(im2col, "column_order", lambda batch, geom: COLUMN_ORDERS[request.param])
    return request.param


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("backend, algorithm, x_shape, w_shape, kwargs", sweep("conv2d", CONV_CASES))
def test_matches_torch(backend, algorithm, x_shape, w_shape, kwargs, with_bias, dtype):
    """Every implementation here (backend x algorithm, injected by parity.sweep) on the sweep."""
    arrays = conv_inputs(x_shape, w_shape, dtype, with_bias)
    mini, ref = run_both(call_on("conv2d", backend, algorithm=algorithm, **kwargs), *arrays)
    check(mini, ref, dtype, f"conv2d[{backend}, {algorithm}] {x_shape} {w_shape} {kwargs}")


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV_CASES)
def test_im2col_in_each_column_order_matches_torch(x_shape, w_shape, kwargs, with_bias, column_order, dtype):
    mini, ref = run_both(conv_both("im2col", **kwargs), *conv_inputs(x_shape, w_shape, dtype, with_bias))
    check(mini, ref, dtype, f"conv2d[im2col, {column_order}] {x_shape} {w_shape} {kwargs}")


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs",
    [
        pytest.param((3, 6, 5), (4, 3, 3, 2), dict(padding=(1, 0), stride=(1, 2)), id="plain"),
        pytest.param((4, 7, 6), (4, 2, 2, 2), dict(padding="same", groups=2), id="same_groups"),
    ],
)
def test_unbatched_input_matches_torch(x_shape, w_shape, kwargs, algorithm, dtype):
    mini, ref = run_both(conv_both(algorithm, **kwargs), *conv_inputs(x_shape, w_shape, dtype))
    assert mini.out.shape == ref.out.shape and len(mini.out.shape) == 3
    check(mini, ref, dtype, f"unbatched conv2d[{algorithm}]")


@pytest.fixture
def restore_workspace_limit():
    previous = im2col.get_workspace_limit()
    yield
    im2col.set_workspace_limit(previous)


@pytest.mark.parametrize("samples_per_chunk", [1, 2])
def test_im2col_batch_chunking_matches_torch(samples_per_chunk, dtype, restore_workspace_limit):
    x_shape, w_shape, kwargs = (5, 2, 6, 7), (3, 2, 3, 2), dict(padding=1, stride=(1, 2))
    # One sample's column matrix: C * KH * KW * OH * OW elements (OH = 6, OW = 4 here).
    sample_bytes = 2 * 3 * 2 * 6 * 4 * np.dtype(dtype).itemsize
    im2col.set_workspace_limit(samples_per_chunk * sample_bytes)
    geometry = conv.conv2d_geometry(x_shape, w_shape, None, **kwargs)
    assert geometry.output_size == (6, 4)
    expected_chunks = -(-x_shape[0] // samples_per_chunk)
    assert len(im2col._batch_chunks(np.empty(x_shape, dtype), geometry)) == expected_chunks
    mini, ref = run_both(conv_both("im2col", **kwargs), *conv_inputs(x_shape, w_shape, dtype))
    check(mini, ref, dtype, f"chunked im2col, {samples_per_chunk} per chunk")


@pytest.mark.parametrize("keep_limit", [im2col.KEEP_LIMIT, 0], ids=["columns_kept", "columns_rebuilt"])
def test_im2col_weight_gradient_from_kept_or_rebuilt_columns_matches_torch(keep_limit, dtype, monkeypatch):
    monkeypatch.setattr(im2col, "KEEP_LIMIT", keep_limit)
    x_shape, w_shape, kwargs = (3, 4, 7, 6), (6, 2, 3, 2), dict(padding=(1, 2), stride=(2, 1), groups=2)
    x, w = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype)
    geometry = conv.conv2d_geometry(x_shape, w_shape, None, **kwargs)
    y, saved = im2col.forward_saving(x, w, geometry)
    np.testing.assert_array_equal(y, im2col.forward(x, w, geometry))
    if keep_limit:  # what is kept is the column matrix itself, not a buffer the next call overwrites
        order = im2col.column_order(x_shape[0], geometry)
        np.testing.assert_array_equal(saved, im2col.im2col(x, geometry, order))
        im2col.forward(rand(*x_shape, dtype=dtype), w, geometry)
        np.testing.assert_array_equal(saved, im2col.im2col(x, geometry, order))
    else:
        assert saved is None
    mini, ref = run_both(conv_both("im2col", **kwargs), *conv_inputs(x_shape, w_shape, dtype))
    check(mini, ref, dtype, f"im2col, KEEP_LIMIT={keep_limit}")


@pytest.mark.parametrize("order", COLUMN_ORDERS.values(), ids=COLUMN_ORDERS.keys())
def test_im2col_columns_follow_the_definition_and_col2im_is_their_adjoint(order):
    x_shape, w_shape, kwargs = (3, 4, 7, 8), (2, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    geometry = conv.conv2d_geometry(x_shape, w_shape, None, **kwargs)
    (sh, sw), (dh, dw), (oh, ow) = geometry.stride, geometry.dilation, geometry.output_size
    top, _, left, _ = geometry.padding
    x = rand(*x_shape, dtype=np.float64)
    xpad = np.pad(x, [(0, 0), (0, 0), (top, top), (left, left)])
    n, channels = x_shape[:2]
    group_channels, kh, kw = w_shape[1:]
    columns = im2col.im2col(x, geometry, order)
    assert columns.shape == (2, group_channels * kh * kw, n * oh * ow)
    for g, c, i, j, b, p, q in np.ndindex(2, group_channels, kh, kw, n, oh, ow):
        row = (c * kh + i) * kw + j
        column = (p * ow + q) * n + b if order == im2col.BATCH_INNERMOST else (b * oh + p) * ow + q
        assert columns[g, row, column] == xpad[b, g * group_channels + c, p * sh + i * dh, q * sw + j * dw]
    # col2im is the adjoint of im2col: <im2col(x), g> = <x, col2im(g)> for every x and g.
    grad_columns = rand(*columns.shape, dtype=np.float64)
    grad_x = im2col.col2im(grad_columns, geometry, x_shape, order)
    assert grad_x.shape == x_shape
    np.testing.assert_allclose(np.vdot(columns, grad_columns), np.vdot(x, grad_x), rtol=1e-12)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, order",
    [
        pytest.param((8, 64, 56, 56), (64, 64, 3, 3), dict(padding=1), im2col.SAMPLE_MAJOR, id="vgg_3x3"),
        pytest.param((16, 128, 28, 28), (128, 128, 3, 3), dict(padding=1), im2col.SAMPLE_MAJOR, id="resnet_3x3"),
        pytest.param((16, 64, 56, 56), (128, 64, 3, 3), dict(padding=1, stride=2), im2col.BATCH_INNERMOST,
                     id="resnet_s2_strided"),
        pytest.param((128, 32, 14, 14), (64, 32, 3, 3), dict(padding=1), im2col.BATCH_INNERMOST, id="cnn_c2"),
        pytest.param((64, 6, 14, 14), (16, 6, 5, 5), {}, im2col.BATCH_INNERMOST, id="lenet_c2"),
        pytest.param((1, 6, 14, 14), (16, 6, 5, 5), {}, im2col.SAMPLE_MAJOR, id="lenet_c2_batch1"),
    ],
)
def test_column_order_is_sample_major_when_a_window_row_outruns_the_batch(x_shape, w_shape, kwargs, order):
    # Output widths 56, 28 (stride 1), 28 (stride 2), 14, 10 and 10 against batches 8, 16, 16, 128, 64 and 1.
    assert im2col.column_order(x_shape[0], conv.conv2d_geometry(x_shape, w_shape, None, **kwargs)) == order


def test_kept_columns_have_their_own_memory_which_is_reused_once_they_are_garbage(monkeypatch):
    monkeypatch.setattr(workspace, "POOL_MIN_BYTES", 0)  # pool even these small matrices
    x_shape, w_shape = (4, 3, 9, 8), (5, 3, 3, 3)
    geometry = conv.conv2d_geometry(x_shape, w_shape, None, padding=1)
    order = im2col.column_order(x_shape[0], geometry)
    xs = [rand(*x_shape, dtype=np.float32) for _ in range(3)]
    w = rand(*w_shape, dtype=np.float32)
    _, first = im2col.forward_saving(xs[0], w, geometry)
    _, second = im2col.forward_saving(xs[1], w, geometry)  # both alive: two buffers
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, im2col.im2col(xs[0], geometry, order))
    np.testing.assert_array_equal(second, im2col.im2col(xs[1], geometry, order))
    address = first.__array_interface__["data"][0]
    del first  # its buffer goes back to the pool, and the next kept matrix of that size takes it
    _, third = im2col.forward_saving(xs[2], w, geometry)
    assert third.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(third, im2col.im2col(xs[2], geometry, order))
    np.testing.assert_array_equal(second, im2col.im2col(xs[1], geometry, order))


def test_workspace_limit_rejects_non_positive():
    with pytest.raises(ValueError, match=r"workspace limit must be a positive int of bytes, got 0"):
        im2col.set_workspace_limit(0)


def test_algorithms_agree_with_each_other():
    x, w, b = conv_inputs((3, 4, 9, 8), (6, 2, 3, 4), np.float64)
    results = {}
    for name in ("im2col", "direct"):
        tensors = [minicnn.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = F.conv2d(*tensors, stride=(2, 1), padding=(2, 1), dilation=(1, 2), groups=2, algorithm=name)
        (y * minicnn.tensor(np.cos(np.arange(y.numel()).reshape(y.shape)))).sum().backward()
        results[name] = [y] + [t.grad for t in tensors]
    for got, want, what in zip(results["direct"], results["im2col"], ("output", "grad x", "grad w", "grad b")):
        assert_close(got, want, np.float64, f"direct vs im2col: {what}")


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs",
    [
        pytest.param((2, 4, 5, 4), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
                     id="strided_dilated_groups"),
        pytest.param((2, 5, 4), (3, 2, 2, 3), dict(padding="same"), id="unbatched_same_even"),
    ],
)
def test_gradcheck(x_shape, w_shape, kwargs, algorithm):
    tensors = [minicnn.tensor(a, requires_grad=True) for a in conv_inputs(x_shape, w_shape, np.float64)]
    assert minicnn.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs, algorithm=algorithm), tensors)


@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    pytest.param((3, 4, 6, 5), (4, 4, 3, 3), dict(padding=1), id="input_gradient_by_convolution"),
    pytest.param((3, 2, 6, 5), (5, 2, 3, 3), dict(padding=1), id="input_gradient_by_col2im"),
])
def test_frozen_weight_gets_no_gradient_and_the_input_still_does(x_shape, w_shape, kwargs, algorithm, dtype):
    """Only the input needs a gradient (a frozen layer): each way im2col computes it, alone."""
    mini, ref = run_both(conv_both(algorithm, **kwargs), *conv_inputs(x_shape, w_shape, dtype, with_bias=False),
                         requires_grad=[True, False])
    assert mini.inputs[1].grad is None
    check(mini, ref, dtype, f"conv2d[{algorithm}] frozen weight {kwargs}")


class _SpyAlgorithm:
    """Delegates to im2col and counts calls, to see which algorithm conv2d dispatched to."""

    def __init__(self):
        self.calls = []

    def forward(self, x, w, geom):
        self.calls.append("forward")
        return im2col.forward(x, w, geom)

    def backward(self, grad_y, x, w, geom, need_input, need_weight):
        self.calls.append(("backward", need_input, need_weight))
        return im2col.backward(grad_y, x, w, geom, need_input, need_weight)


@pytest.fixture
def spy():
    """A spy registered (one line, as a new algorithm would be) in a registry restored afterwards."""
    with registry.snapshot():
        algorithm = _SpyAlgorithm()
        conv.register_algorithm("spy", algorithm)
        yield algorithm


def test_default_algorithm_setter_and_context_manager(spy):
    assert set(conv.available_algorithms()) >= {"im2col", "direct", "spy"}
    assert conv.get_default_algorithm() == "im2col"
    x = minicnn.tensor(rand(1, 2, 5, 5))
    w = minicnn.tensor(rand(3, 2, 3, 3), requires_grad=True)

    with conv.conv_algorithm("spy"):
        assert conv.get_default_algorithm() == "spy"
        y = F.conv2d(x, w)
    assert conv.get_default_algorithm() == "im2col"
    y.sum().backward()  # after the block: the backward still belongs to the forward's algorithm
    assert spy.calls == ["forward", ("backward", False, True)]

    conv.set_default_algorithm("spy")
    try:
        F.conv2d(x, w, algorithm="direct")  # an explicit choice beats the default
        assert spy.calls == ["forward", ("backward", False, True)]
        F.conv2d(x, w)
        assert len(spy.calls) == 3
    finally:
        conv.set_default_algorithm("im2col")


def test_context_manager_restores_default_after_an_exception():
    with pytest.raises(KeyError, match="boom"):
        with conv.conv_algorithm("direct"):
            raise KeyError("boom")
    assert conv.get_default_algorithm() == "im2col"


def test_unknown_algorithm_lists_the_choices():
    x, w = minicnn.tensor(rand(1, 1, 4, 4)), minicnn.tensor(rand(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: unknown algorithm 'fourier'; choose one of im2col, direct"):
        F.conv2d(x, w, algorithm="fourier")
    with pytest.raises(ValueError, match=r"unknown algorithm 'winograd_f4'"):
        conv.set_default_algorithm("winograd_f4")
    assert conv.get_default_algorithm() == "im2col"


def test_same_padding_is_asymmetric_like_torch():
    # Even kernel 4 with dilation 1: 3 extra rows in all, 1 before and 2 after, as torch pads.
    geometry = conv.conv2d_geometry((1, 1, 7, 6), (1, 1, 4, 2), None, padding="same", dilation=(1, 3))
    assert geometry.padding == (1, 2, 1, 2)
    assert geometry.output_size == (7, 6)


def test_output_size_formula_by_hand():
    # Rows: 10 + 1 + 1 = 12 padded, kernel 3 dilated by 2 spans 5, stride 3: windows start at
    # 0, 3, 6 (6 + 5 <= 12; 9 + 5 > 12) -> 3. Columns: 4 + 2 = 6 padded, kernel 1: starts 0, 3 -> 2.
    assert output_length(10, 2, 3, 3, 2) == 3
    geometry = conv.conv2d_geometry((1, 1, 10, 4), (1, 1, 3, 1), None, stride=3, padding=1, dilation=2)
    assert geometry.output_size == (3, 2)


class _FakeCudaArray:
    """Just enough of a CuPy array for conv2d's checks: not a NumPy array, so it is on 'cuda'."""

    def __init__(self, shape, dtype=np.float32):
        self.shape, self.dtype, self.ndim = shape, np.dtype(dtype), len(shape)
        self.__cuda_array_interface__ = {"shape": shape, "typestr": self.dtype.str, "version": 3}


def _t(*shape, dtype=np.float32):
    return minicnn.tensor(rand(*shape, dtype=dtype))


# (input, weight, bias, keyword arguments, exception type, regular expression of the message)
ERRORS = [
    pytest.param(_t(4, 5), _t(6, 4, 3, 3), None, {}, RuntimeError,
                 r"conv2d: Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[4, 5\]",
                 id="input_2d"),
    pytest.param(_t(1, 2, 4, 5, 5), _t(6, 4, 3, 3), None, {}, RuntimeError,
                 r"conv2d: Expected 3D .* got input of size: \[1, 2, 4, 5, 5\]", id="input_5d"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3), None, {}, RuntimeError,
                 r"conv2d: expected weight to be 4D .* got weight of size \[6, 4, 3\]", id="weight_3d"),
    pytest.param(_t(2, 3, 5, 5), _t(6, 4, 3, 3), None, {}, RuntimeError,
                 r"conv2d: Given groups=1, weight of size \[6, 4, 3, 3\], expected input\[2, 3, 5, 5\] "
                 r"to have 4 channels, but got 3 channels instead", id="channels"),
    pytest.param(_t(3, 5, 5), _t(6, 4, 3, 3), None, {}, RuntimeError,
                 r"conv2d: .*expected input\[1, 3, 5, 5\] to have 4 channels, but got 3", id="channels_unbatched"),
    pytest.param(_t(2, 3, 5, 5), _t(6, 1, 3, 3), None, dict(groups=2), RuntimeError,
                 r"conv2d: Given groups=2, weight of size \[6, 1, 3, 3\], expected input\[2, 3, 5, 5\] "
                 r"to have 2 channels, but got 3", id="groups_in_channels"),
    pytest.param(_t(2, 4, 5, 5), _t(5, 2, 3, 3), None, dict(groups=2), RuntimeError,
                 r"conv2d: Given groups=2, expected weight to be divisible by 2 at dimension 0, but got "
                 r"weight of size \[5, 2, 3, 3\]", id="groups_out_channels"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(groups=0), RuntimeError,
                 r"conv2d: non-positive groups is not supported, got groups=0", id="groups_zero"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 7, 3), None, {}, RuntimeError,
                 r"conv2d: Calculated padded input size per channel: \(5 x 5\)\. Kernel size: \(7 x 3\)\. "
                 r"Kernel size can't be greater than actual input size", id="kernel_too_big"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(dilation=(1, 3)), RuntimeError,
                 r"conv2d: Calculated padded input size per channel: \(5 x 5\)\. Kernel size: \(3 x 7\)",
                 id="dilated_kernel_too_big"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(stride=(0, 1)), RuntimeError,
                 r"conv2d: non-positive stride is not supported, got stride=\(0, 1\)", id="stride_zero"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(stride=-2), RuntimeError,
                 r"conv2d: non-positive stride is not supported, got stride=\(-2, -2\)", id="stride_negative"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(dilation=0), RuntimeError,
                 r"conv2d: non-positive dilation is not supported, got dilation=\(0, 0\)", id="dilation_zero"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(padding=(1, -1)), RuntimeError,
                 r"conv2d: negative padding is not supported, got padding=\(1, -1\)", id="padding_negative"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(padding="same", stride=2), RuntimeError,
                 r"conv2d: padding='same' is not supported for strided convolutions, got stride=\(2, 2\)",
                 id="same_strided"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(padding="full"), RuntimeError,
                 r"conv2d: Invalid padding string: 'full'", id="padding_string"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(stride=(1, 2, 3)), RuntimeError,
                 r"conv2d: expected stride to be a single integer value or a list of 2 values .* "
                 r"stride=\[1, 2, 3\]", id="stride_three_values"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), None, dict(stride=1.5), TypeError,
                 r"conv2d: stride must be an int or a tuple of 2 ints, but got stride=1.5", id="stride_float"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), _t(5), {}, RuntimeError,
                 r"conv2d: Given weight of size \[6, 4, 3, 3\], expected bias to be 1-dimensional with 6 "
                 r"elements, but got bias of size \[5\]", id="bias_length"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), _t(6, 1), {}, RuntimeError,
                 r"conv2d: .*expected bias to be 1-dimensional with 6 elements, but got bias of size \[6, 1\]",
                 id="bias_2d"),
    pytest.param(_t(2, 4, 5, 5, dtype=np.float64), _t(6, 4, 3, 3), None, {}, RuntimeError,
                 r"conv2d: Input type \(double\) and weight type \(float\) should be the same",
                 id="dtype_input_weight"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), _t(6, dtype=np.float64), {}, RuntimeError,
                 r"conv2d: Input type \(float\) and bias type \(double\) should be the same", id="dtype_bias"),
    pytest.param(_t(2, 4, 5, 5), minicnn.Tensor(_FakeCudaArray((6, 4, 3, 3))), None, {}, RuntimeError,
                 r"conv2d: Input and weight should be on the same device, but got input on cpu and weight on cuda",
                 id="device_weight"),
    pytest.param(_t(2, 4, 5, 5), _t(6, 4, 3, 3), minicnn.Tensor(_FakeCudaArray((6,))), {}, RuntimeError,
                 r"conv2d: Input and bias should be on the same device, but got input on cpu and bias on cuda",
                 id="device_bias"),
    pytest.param(rand(2, 4, 5, 5), _t(6, 4, 3, 3), None, {}, TypeError,
                 r"conv2d: argument 'input' must be Tensor, not ndarray", id="input_not_tensor"),
]


@pytest.mark.parametrize("x, w, b, kwargs, error, message", ERRORS)
def test_bad_arguments_raise_clear_errors(x, w, b, kwargs, error, message, algorithm):
    with pytest.raises(error, match=message):
        F.conv2d(x, w, b, **kwargs, algorithm=algorithm)
