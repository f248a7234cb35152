"""The numba backend's kernels beyond the injected parity sweeps of test_conv.py and test_pooling.py:
the index helpers by brute force, the direct conv on larger odd batches and with a NaN pixel,
im2col/col2im against torch's unfold/fold, finite-difference gradchecks, strided inputs, the
dtype error and the fallback when no cache is writable."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import minicnn
import minicnn.nn.functional as F
from minicnn import backends
from minicnn.functional.conv import conv2d_geometry
from minicnn.tuned.numpy import im2col
from minicnn.functional.conv.registry import get_algorithm
from parity import assert_close, check, rand, run_both

usable, why = backends.available()["numba"]
if not usable:
    pytest.skip(f"backend 'numba' is not available here: {why}", allow_module_level=True)

from minicnn.tuned import numba as numba_cpu  # noqa: E402  (imports numba)
from minicnn.tuned.numba import kernels as numba_cpu_kernels  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.mark.parametrize("out_len, in_len, stride, offset", [
    (5, 5, 1, 0), (5, 5, 1, -2), (5, 5, 1, 2), (7, 10, 3, -4), (4, 9, 2, 7), (3, 4, 2, 9), (6, 6, 4, -11),
])
def test_valid_outputs_is_exactly_the_positions_inside_the_input(out_len, in_len, stride, offset):
    inside = [p for p in range(out_len) if 0 <= p * stride + offset < in_len]
    lo, hi = numba_cpu_kernels.valid_outputs(out_len, in_len, stride, offset)
    assert list(range(lo, hi)) == inside


@pytest.mark.parametrize("q_lo, q_hi, stride, batch", [
    (0, 5, 1, 3), (2, 7, 1, 4), (1, 4, 2, 3), (0, 3, 3, 1), (4, 4, 1, 2),
])
def test_column_runs_cover_exactly_the_segments_of_the_columns(q_lo, q_hi, stride, batch):
    """Column q of a batch-last row is the segment [q*N, (q+1)*N) and reads input column q*stride;
    the runs, starting at columns q_lo, q_lo + 1, …, must pair up exactly those elements."""
    count, length = numba_cpu_kernels.column_runs(q_lo, q_hi, stride, batch)
    starts = [((q_lo + k) * batch, (q_lo + k) * stride * batch) for k in range(count)]
    pairs = [(out + e, read + e) for out, read in starts for e in range(length)]
    want = [(q * batch + n, q * stride * batch + n) for q in range(q_lo, q_hi) for n in range(batch)]
    assert pairs == want


@pytest.mark.parametrize("width, kw, kwargs", [
    (8, 3, dict(padding=1)), (9, 3, dict(stride=2, padding=1)), (11, 3, dict(stride=3, dilation=2, padding=2)),
    (7, 2, dict(stride=(1, 4), padding=(0, 3))), (10, 5, dict(stride=2)), (6, 1, dict(stride=5)),
])
def test_every_tap_reads_one_run_of_the_phase_split_batch_last_copy(width, kw, kwargs):
    """batch_last_by_phase puts, for every kernel tap j, the inputs of output columns 0 … OW-1
    in one run starting at tap_run_start: element q*N + n of the run must be what tap j of
    output column q reads from sample n (x at padded column q*SW + j*DW, 0 in the border)."""
    x = rand(3, 2, 4, width)
    geom = conv2d_geometry(x.shape, (1, 2, 1, kw), None, **kwargs)
    xs = numba_cpu.batch_last_by_phase(x, geom)
    (_, sw), (_, dw), left, out_w = geom.stride, geom.dilation, geom.padding[2], geom.output_size[1]
    padded = np.pad(x, ((0, 0), (0, 0), (0, 0), (left, xs.shape[2] * xs.shape[3] - width - left)))
    for c in range(2):
        for r in range(4):
            row = xs[c, r].reshape(-1)
            for j in range(kw):
                start = numba_cpu_kernels.tap_run_start(j, dw, sw, xs.shape[3], 3)
                run = row[start:start + out_w * 3].reshape(out_w, 3)  # [q, n]
                np.testing.assert_array_equal(run, padded[:, c, r, j * dw:j * dw + out_w * sw:sw].T)


@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    pytest.param((5, 4, 9, 8), (6, 2, 3, 3), dict(padding=(2, 1), dilation=(1, 2), groups=2),
                 id="stride1-padded-runs-join"),
    pytest.param((7, 3, 10, 9), (4, 3, 2, 3), dict(stride=(1, 2), padding=1), id="column-stride2-runs-apart"),
    pytest.param((6, 4, 8, 11), (4, 1, 3, 3), dict(stride=(2, 3), padding=(1, 2), groups=4),
                 id="depthwise-strided"),
    pytest.param((9, 2, 7, 13), (3, 2, 2, 3), dict(stride=(1, 3), dilation=(1, 2), padding=(0, 2)),
                 id="stride3-dilation2-phases-cycle"),
])
def test_direct_conv2d_on_a_larger_odd_batch_matches_torch(x_shape, w_shape, kwargs, dtype):
    """The direct kernels hold the N samples of a pixel side by side: batches above test_conv's 1-3,
    where a run of joined columns spans several samples and columns at once."""
    mini, ref = run_both(lambda lib, F_, x, w, b: F_.conv2d(x, w, b, **kwargs, **_direct(lib)),
                         rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype), rand(w_shape[0], dtype=dtype))
    check(mini, ref, dtype, f"conv2d[numba, direct] {x_shape} {w_shape} {kwargs}")


def test_direct_conv2d_propagates_nan_as_torch_does(dtype):
    """The direct kernels' fastmath flags (contract, reassoc) keep NaN: the outputs that read a NaN
    pixel, and the weight gradients whose taps read it, are NaN in exactly torch's positions."""
    x = rand(3, 2, 7, 6, dtype=dtype)
    x[1, 0, 0, 4] = np.nan  # a top-edge pixel: only tap (0, 2) of output (0, 1) reads it
    mini, ref = run_both(lambda lib, F_, x, w: F_.conv2d(x, w, stride=(1, 2), **_direct(lib)),
                         x, rand(3, 2, 3, 3, dtype=dtype))
    assert np.isnan(mini.out.numpy()).any() and np.isnan(mini.inputs[1].grad.numpy()).any()
    check(mini, ref, dtype, "conv2d[numba, direct] with a NaN pixel")


def _direct(lib) -> dict:
    return dict(algorithm="direct", backend="numba") if lib is minicnn else {}


# kernel (KH, KW), conv2d keyword arguments (symmetric padding: torch's unfold has no other kind)
COLUMN_CASES = [
    pytest.param((3, 3), dict(padding=1), id="3x3-pad1"),
    pytest.param((2, 3), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2)), id="strided-dilated"),
    pytest.param((4, 2), dict(stride=3), id="stride-beyond-kernel"),
    pytest.param((2, 2), dict(stride=(1, 2), padding=(3, 2)), id="padding-beyond-kernel"),
    pytest.param((1, 1), {}, id="pointwise"),
]
COLUMN_BATCH = 5  # odd, and > 1: at stride 1 a run of the batch-innermost columns spans several samples


def _unfold_geometry(x_shape, kernel, kwargs):
    return conv2d_geometry(x_shape, (1, x_shape[1], *kernel), None, **kwargs)


@pytest.mark.parametrize("kernel, kwargs", COLUMN_CASES)
def test_im2col_matches_torch_unfold(kernel, kwargs, dtype):
    x = rand(COLUMN_BATCH, 3, 7, 6, dtype=dtype)
    geometry = _unfold_geometry(x.shape, kernel, kwargs)
    cols = numba_cpu._im2col(x, geometry)  # (G=1, C*KH*KW, OH*OW*N)
    want = tF.unfold(torch.tensor(x), kernel, **kwargs).numpy()  # (N, C*KH*KW, OH*OW)
    rows = want.shape[1]
    got = cols[0].reshape(rows, -1, COLUMN_BATCH).transpose(2, 0, 1)  # columns (p, q, n) -> torch's (n)(p, q)
    np.testing.assert_array_equal(got, want)  # a copy: exactly equal


@pytest.mark.parametrize("kernel, kwargs", COLUMN_CASES)
def test_col2im_matches_torch_fold(kernel, kwargs, dtype):
    x_shape = (COLUMN_BATCH, 3, 7, 6)
    geometry = _unfold_geometry(x_shape, kernel, kwargs)
    (kh, kw), (oh, ow) = geometry.kernel_size, geometry.output_size
    cols = rand(COLUMN_BATCH, 3 * kh * kw, oh * ow, dtype=dtype)  # torch's (N, C*KH*KW, OH*OW)
    ours = np.ascontiguousarray(cols.transpose(1, 2, 0)).reshape(1, 3 * kh * kw, oh * ow * COLUMN_BATCH)
    got = numba_cpu._col2im(ours, geometry, x_shape)
    want = tF.fold(torch.tensor(cols), x_shape[2:], kernel, **kwargs)
    assert_close(got, want, dtype, "col2im vs fold")


@pytest.mark.parametrize("samples_per_chunk", [2, 5], ids=["chunked", "one-chunk"])
@pytest.mark.parametrize("keep_limit", [im2col.KEEP_LIMIT, 0], ids=["columns-kept", "columns-rebuilt"])
def test_im2col_reused_and_kept_columns_match_torch(samples_per_chunk, keep_limit, dtype, monkeypatch, request):
    """The numba im2col builds its columns into a reused buffer, except those kept from the forward
    for the weight gradient, which are a fresh array the next call must not overwrite."""
    x_shape, w_shape, kwargs = (5, 4, 7, 6), (6, 2, 3, 2), dict(padding=(1, 2), stride=(2, 1), groups=2)
    geometry = conv2d_geometry(x_shape, w_shape, None, **kwargs)
    sample_bytes = 4 * 3 * 2 * math.prod(geometry.output_size) * np.dtype(dtype).itemsize
    previous = im2col.get_workspace_limit()
    im2col.set_workspace_limit(samples_per_chunk * sample_bytes)
    request.addfinalizer(lambda: im2col.set_workspace_limit(previous))
    monkeypatch.setattr(im2col, "KEEP_LIMIT", keep_limit)
    algorithm = get_algorithm("im2col", "numba")
    x, w = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype)
    y, saved = algorithm.forward_saving(x, w, geometry)
    if keep_limit and samples_per_chunk == x_shape[0]:
        kept = saved.copy()
        algorithm.forward(rand(*x_shape, dtype=dtype), w, geometry)
        np.testing.assert_array_equal(saved, kept)
    else:
        assert saved is None
    mini, ref = run_both(lambda lib, F_, x, w: F_.conv2d(x, w, **kwargs, **_im2col(lib)), x, w)
    check(mini, ref, dtype, f"conv2d[numba, im2col], {samples_per_chunk} per chunk, KEEP_LIMIT={keep_limit}")


def _im2col(lib) -> dict:
    return dict(algorithm="im2col", backend="numba") if lib is minicnn else {}


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
def test_conv2d_gradcheck(algorithm):
    tensors = [minicnn.tensor(rand(*shape), requires_grad=True) for shape in ((2, 4, 5, 4), (4, 2, 3, 2), (4,))]
    kwargs = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2, algorithm=algorithm, backend="numba")
    assert minicnn.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs), tensors)


@pytest.mark.parametrize("pool", [
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.max_pool2d(x, (2, 3), 1, (1, 0), dilation=(2, 1)),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, (3, 2), 1, (1, 1), divisor_override=4),
], ids=["max-ceil", "max-dilation-overlap", "avg-ceil-exclude-pad", "avg-divisor"])
def test_pooling_gradcheck(pool):
    with backends.use_backend("numba"):
        assert minicnn.gradcheck(pool, [minicnn.tensor(rand(1, 2, 6, 5), requires_grad=True)])


@pytest.mark.parametrize("algorithm", ["direct", "im2col"])
def test_conv2d_on_strided_views_matches_torch(algorithm, dtype):
    """Channels-last arrays seen through permute, and a gradient that is not contiguous either:
    the wrappers must hand the kernels C-contiguous copies."""

    def conv(lib, F_, x, w):
        extra = dict(algorithm=algorithm, backend="numba") if lib is minicnn else {}
        return F_.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 0, 1, 2), padding=1, **extra).transpose(2, 3)

    mini, ref = run_both(conv, rand(2, 6, 5, 3, dtype=dtype), rand(3, 3, 3, 4, dtype=dtype))
    check(mini, ref, dtype, f"conv2d[numba, {algorithm}] on permuted arrays")


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_on_strided_views_matches_torch(name, dtype):
    with backends.use_backend("numba"):
        mini, ref = run_both(lambda lib, F_, x: getattr(F_, name)(x.permute(0, 3, 1, 2), 3, 2, 1),
                             rand(2, 7, 6, 3, dtype=dtype))
    check(mini, ref, dtype, f"{name}[numba] on a permuted input")


def test_kernels_reject_dtypes_they_were_not_written_for():
    x, w = minicnn.tensor(rand(1, 1, 4, 4, dtype=np.float16)), minicnn.tensor(rand(1, 1, 3, 3, dtype=np.float16))
    with pytest.raises(TypeError, match=r"conv2d: the numba backend's kernels compute in float32 or float64, "
                                        r"got float16; use backend 'numpy'"):
        F.conv2d(x, w, algorithm="direct", backend="numba")
    with backends.use_backend("numba"), pytest.raises(TypeError, match=r"max_pool2d: the numba backend's kernels"):
        F.max_pool2d(x, 2)


def test_kernels_compile_without_a_cache_when_no_directory_is_writable(monkeypatch):
    """Numba raises RuntimeError at decoration when it finds nowhere to cache; the kernel must
    then still compile and run, just without the on-disk cache."""
    real_njit = numba_cpu_kernels.numba.njit
    requested = []

    def njit_without_cache_locator(**options):
        requested.append(options.get("cache", False))
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'twice': no locator available for file '<test>'")
        return real_njit(**options)

    monkeypatch.setattr(numba_cpu_kernels.numba, "njit", njit_without_cache_locator)

    @numba_cpu_kernels.helper
    def twice(value):
        return 2 * value

    assert requested == [True, False]
    assert twice(21) == 42


@pytest.mark.parametrize("saved", [True, False], ids=["x_kept_from_forward", "x_transposed_in_backward"])
def test_direct_weight_gradient_from_kept_or_fresh_batch_last_input_matches_torch(saved, dtype):
    x, w = rand(3, 4, 7, 6, dtype=dtype), rand(6, 2, 3, 2, dtype=dtype)
    kwargs = dict(stride=(2, 1), padding=(1, 2), groups=2)
    geometry = conv2d_geometry(x.shape, w.shape, None, **kwargs)
    direct = numba_cpu.DirectConv()
    y, x_batch_last = direct.forward_saving(x, w, geometry)
    grad_y = rand(*y.shape, dtype=dtype)
    grad_x, grad_w = direct.backward(grad_y, x, w, geometry, True, True, saved=x_batch_last if saved else None)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = tF.conv2d(xt, wt, **kwargs)
    yt.backward(torch.tensor(grad_y))
    assert_close(y, yt, dtype, "output")
    assert_close(grad_x, xt.grad, dtype, "grad x")
    assert_close(grad_w, wt.grad, dtype, "grad w")
