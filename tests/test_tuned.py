"""Every tuned implementation against its reference, on the full argument sweep.

A backend's own implementations (minicnn.tuned) must compute what the textbook references
(minicnn.functional) compute: outputs and every gradient, in float64 to ~1e-12 and in float32
to the float32 tolerance. The pairs come from the one registry, so an implementation added
there is checked here without a new test. Against torch both are checked elsewhere
(test_conv, test_pooling, test_backends); this file pins the tuned code to the readable one.
"""
from __future__ import annotations

import numpy as np
import pytest

import minicnn.nn.functional as F
from minicnn import backends
from minicnn.backends import registry
from minicnn.backends.availability import backend_devices
from minicnn.geometry import conv2d_geometry
from minicnn.functional.pooling._arguments import sliding_windows
from minicnn.functional.pooling.avg_pool import _divisors
from minicnn.tuned.numpy import get_workspace_limit, set_workspace_limit
from parity import assert_close, rand
from helpers.cases import AVG_CASES, CONV_CASES, MAX_CASES
from helpers.launches import shrink_cuda_launches

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

SIMULATED = ("Numba's CUDA simulator is too slow for the sweep; a subset of it below (test_simulated_numba_cuda_*) "
             "and tests/test_numba_cuda_sim.py cover it")


def _tuned(op: str) -> list:
    """pytest params (backend, algorithm) for every backend's own implementation of ``op``."""
    params = []
    for backend, (usable, why) in backends.available().items():
        if not usable:
            params.append(pytest.param(backend, None, id=f"{backend}-unavailable",
                                       marks=pytest.mark.skip(reason=f"backend {backend!r}: {why}")))
        elif backend == "numba_cuda" and backend_devices(backend) == ("cpu",):
            params.append(pytest.param(backend, None, id=f"{backend}-simulated", marks=pytest.mark.skip(reason=SIMULATED)))
        else:
            params += [pytest.param(backend, algorithm, id=f"{backend}-{algorithm}")
                       for algorithm in registry.own_algorithms(op, backend)]
    return params


def _on_device(backend: str, *arrays):
    if backend_devices(backend) == ("cpu",):
        return arrays
    import cupy

    return tuple(cupy.asarray(a) for a in arrays)


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def _conv_results(implementation, x, w, geom, grad_y) -> list:
    """y, then (grad_x, grad_w) — through forward_saving and the saved value where it has one."""
    y = implementation.forward(x, w, geom)
    grads = implementation.backward(grad_y, x, w, geom, True, True)
    results = [y, *grads]
    saving = getattr(implementation, "forward_saving", None)
    if saving is not None:
        y_saving, saved = saving(x, w, geom)
        kept = {} if saved is None else {"saved": saved}
        results += [y_saving, *implementation.backward(grad_y, x, w, geom, True, True, **kept)]
        results += implementation.backward(grad_y, x, w, geom, True, False)[:1]  # input gradient alone
        results += implementation.backward(grad_y, x, w, geom, False, True, **kept)[1:]  # weight alone
    return results


def _reference_conv_results(reference, tuned, x, w, geom, grad_y) -> list:
    """What :func:`_conv_results` must give: the reference's y, grad_x, grad_w, in the same order."""
    y = reference.forward(x, w, geom)
    grad_x, grad_w = reference.backward(grad_y, x, w, geom, True, True)
    if getattr(tuned, "forward_saving", None) is None:
        return [y, grad_x, grad_w]
    return [y, grad_x, grad_w, y, grad_x, grad_w, grad_x, grad_w]


@pytest.fixture(params=["one_chunk", "chunked"])
def workspace(request):
    """The default workspace limit, or one so small that im2col splits the batch into single samples."""
    previous = get_workspace_limit()
    if request.param == "chunked":
        set_workspace_limit(1)
    yield request.param
    set_workspace_limit(previous)


def _conv_sweep() -> list:
    """(backend, algorithm, x_shape, w_shape, kwargs) for each tuned conv2d and each case it computes."""
    params = []
    for pair in _tuned("conv2d"):
        backend, algorithm = pair.values
        if algorithm is None:
            params.append(pytest.param(None, None, None, None, None, id=pair.id, marks=pair.marks))
            continue
        supports = getattr(registry.own("conv2d", algorithm, backend), "supports", lambda geom: True)
        params += [pytest.param(backend, algorithm, *case.values, id=f"{pair.id}-{case.id}") for case in CONV_CASES
                   if supports(conv2d_geometry(case.values[0], case.values[1], None, **case.values[2]))]
    return params


@pytest.mark.parametrize("backend, algorithm, x_shape, w_shape, kwargs", _conv_sweep())
def test_tuned_conv2d_computes_what_its_reference_computes(backend, algorithm, x_shape, w_shape, kwargs, dtype,
                                                           workspace):
    geom = conv2d_geometry(x_shape, w_shape, None, **kwargs)
    tuned = registry.own("conv2d", algorithm, backend)
    reference = registry.reference("conv2d", algorithm)
    x, w = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype)
    grad_y = rand(x_shape[0], w_shape[0], *geom.output_size, dtype=dtype)
    arrays = _on_device(backend, x, w, grad_y)
    got = _conv_results(tuned, *arrays[:2], geom, arrays[2])
    want = _reference_conv_results(reference, tuned, *arrays[:2], geom, arrays[2])
    assert len(got) == len(want)
    for index, (a, b) in enumerate(zip(got, want)):
        assert a.dtype == b.dtype == dtype, f"result {index}: {a.dtype} vs {b.dtype}"
        assert_close(_host(a), _host(b), dtype, f"conv2d[{backend} {algorithm}] result {index} {kwargs}")


def _pool_inputs(op: str, shape, kwargs, dtype):
    shape = shape if len(shape) == 4 else (1, *shape)  # implementations see (N, C, H, W)
    pool_kwargs = dict(kwargs)
    kernel = pool_kwargs.pop("kernel_size")
    windows = sliding_windows(op, shape, kernel, pool_kwargs.get("stride"), pool_kwargs.get("padding", 0),
                              pool_kwargs.get("dilation", 1), pool_kwargs.get("ceil_mode", False))
    return rand(*shape, dtype=dtype), windows


@pytest.mark.parametrize("backend, algorithm", _tuned("max_pool2d"))
@pytest.mark.parametrize("shape, kwargs", list(MAX_CASES.values()), ids=list(MAX_CASES))
def test_tuned_max_pool2d_computes_what_its_reference_computes(backend, algorithm, shape, kwargs, dtype):
    x, windows = _pool_inputs("max_pool2d", shape, kwargs, dtype)
    tuned, reference = registry.own("max_pool2d", algorithm, backend), registry.reference("max_pool2d", algorithm)
    (x,) = _on_device(backend, x)
    values, indices = tuned.forward(x, windows)
    want_values, want_indices = reference.forward(x, windows)
    assert indices.dtype == want_indices.dtype == np.int64
    np.testing.assert_array_equal(_host(indices), _host(want_indices))  # torch's tie rules, exactly
    assert_close(_host(values), _host(want_values), dtype, f"max_pool2d[{backend}] {kwargs}")
    (grad,) = _on_device(backend, rand(*values.shape, dtype=dtype))
    got, want = tuned.backward(grad, indices, windows), reference.backward(grad, want_indices, windows)
    assert got.dtype == want.dtype == dtype
    assert_close(_host(got), _host(want), dtype, f"max_pool2d[{backend}] grad {kwargs}")


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["include-pad", "exclude-pad"])
@pytest.mark.parametrize("backend, algorithm", _tuned("avg_pool2d"))
@pytest.mark.parametrize("shape, kwargs", list(AVG_CASES.values()), ids=list(AVG_CASES))
def test_tuned_avg_pool2d_computes_what_its_reference_computes(backend, algorithm, shape, kwargs, count_include_pad,
                                                               dtype):
    x, windows = _pool_inputs("avg_pool2d", shape, kwargs, dtype)
    divisor = np.asarray(_divisors(windows, count_include_pad), dtype=dtype)
    tuned, reference = registry.own("avg_pool2d", algorithm, backend), registry.reference("avg_pool2d", algorithm)
    x, divisor = _on_device(backend, x, divisor)
    got, want = tuned.forward(x, windows, divisor), reference.forward(x, windows, divisor)
    assert got.dtype == want.dtype == dtype
    assert_close(_host(got), _host(want), dtype, f"avg_pool2d[{backend}] {kwargs}")
    (grad,) = _on_device(backend, rand(*got.shape, dtype=dtype))
    got, want = tuned.backward(grad, windows, divisor), reference.backward(grad, windows, divisor)
    assert got.dtype == want.dtype == dtype
    assert_close(_host(got), _host(want), dtype, f"avg_pool2d[{backend}] grad {kwargs}")


def test_every_reference_is_registered_and_the_numpy_backend_tunes_im2col_and_winograd():
    assert set(registry.algorithms("conv2d")) >= {"im2col", "direct", "fft", "winograd", "auto"}
    assert registry.algorithms("max_pool2d") == registry.algorithms("avg_pool2d") == ("direct",)
    assert registry.lookup("conv2d", "im2col", "numpy") is not registry.reference("conv2d", "im2col")
    assert registry.lookup("conv2d", "direct", "numpy") is registry.reference("conv2d", "direct")
    assert F.conv.get_algorithm("im2col", "numpy") is registry.own("conv2d", "im2col", "numpy")


# ---------------------------------------------------------------------------- numba_cuda, simulated
# Under Numba's CUDA simulator the numba_cuda kernels are too slow for the sweeps above (every
# GPU thread is a Python thread), which skip them. They still run through the same
# reference-checked cases: a few of the sweep's cases, chosen for what they exercise, with the
# launches shrunk (tests/helpers/launches.py) so that these small shapes span several tiles and
# tap groups.
SIMULATED_CONV_CASES = ["non_square_everything", "stride_beyond_kernel", "depthwise", "same_even_kernel",
                        "empty_batch"]
SIMULATED_MAX_CASES = ["odd-overlap-pad", "dilation-nonsquare", "ceil-pad-overlap", "unbatched"]
SIMULATED_AVG_CASES = ["nonsquare-batch1", "ceil-nonsquare", "stride1-overlap", "unbatched"]


def _simulated_numba_cuda(op: str) -> list:
    """pytest params (algorithm) of numba_cuda's own ``op`` implementations when they run under the
    simulator; one skipped param saying why otherwise (on a GPU the sweeps above cover them)."""
    usable, why = backends.available()["numba_cuda"]
    if not usable:
        return [pytest.param(None, id="unavailable", marks=pytest.mark.skip(reason=f"backend 'numba_cuda': {why}"))]
    if backend_devices("numba_cuda") != ("cpu",):
        return [pytest.param(None, id="on-a-gpu", marks=pytest.mark.skip(reason="numba_cuda runs on a GPU here: "
                                                                              "the full sweeps above check it"))]
    return [pytest.param(algorithm, id=algorithm) for algorithm in registry.own_algorithms(op, "numba_cuda")]


def _pick(cases, ids: list[str]) -> list:
    """The cases of a sweep with these ids, as pytest params."""
    if isinstance(cases, dict):
        return [pytest.param(*cases[case_id], id=case_id) for case_id in ids]
    by_id = {case.id: case for case in cases}
    return [pytest.param(*by_id[case_id].values, id=case_id) for case_id in ids]


@pytest.mark.parametrize("algorithm", _simulated_numba_cuda("conv2d"))
@pytest.mark.parametrize("x_shape, w_shape, kwargs", _pick(CONV_CASES, SIMULATED_CONV_CASES))
def test_simulated_numba_cuda_conv2d_computes_what_its_reference_computes(algorithm, x_shape, w_shape, kwargs,
                                                                          dtype, monkeypatch):
    shrink_cuda_launches(monkeypatch)
    test_tuned_conv2d_computes_what_its_reference_computes("numba_cuda", algorithm, x_shape, w_shape, kwargs,
                                                           dtype, workspace="one_chunk")


@pytest.mark.parametrize("algorithm", _simulated_numba_cuda("max_pool2d"))
@pytest.mark.parametrize("shape, kwargs", _pick(MAX_CASES, SIMULATED_MAX_CASES))
def test_simulated_numba_cuda_max_pool2d_computes_what_its_reference_computes(algorithm, shape, kwargs, dtype,
                                                                              monkeypatch):
    shrink_cuda_launches(monkeypatch)
    test_tuned_max_pool2d_computes_what_its_reference_computes("numba_cuda", algorithm, shape, kwargs, dtype)


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["include-pad", "exclude-pad"])
@pytest.mark.parametrize("algorithm", _simulated_numba_cuda("avg_pool2d"))
@pytest.mark.parametrize("shape, kwargs", _pick(AVG_CASES, SIMULATED_AVG_CASES))
def test_simulated_numba_cuda_avg_pool2d_computes_what_its_reference_computes(algorithm, shape, kwargs,
                                                                              count_include_pad, dtype, monkeypatch):
    shrink_cuda_launches(monkeypatch)
    test_tuned_avg_pool2d_computes_what_its_reference_computes("numba_cuda", algorithm, shape, kwargs,
                                                               count_include_pad, dtype)
