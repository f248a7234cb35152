"""The parity harness: run the same computation in minicnn and torch, compare everything.

Typical use in a test::

    x = rand(2, 3, 7, 7, dtype=dtype)                 # NumPy array, fresh random values
    mini, ref = run_both(lambda lib, F, x, w: F.conv2d(x, w, stride=2), x, w)
    check(mini, ref, dtype)                           # outputs and every input gradient

``run_both`` builds a minicnn tensor and a torch tensor (both requiring grad) from each
NumPy input, calls ``fn`` once with each library, back-propagates the same random upstream
gradient through both outputs and returns the pair of result bundles; ``check`` compares
the outputs (as many as torch returns, each of torch's dtype) and every input gradient.

Implementations are injected, not hand-listed: ``implementations(op)`` gives one
``pytest.param`` per backend (and, for conv2d, per algorithm) that computes ``op`` here, and
``call_on`` turns a torch-named call into a run_both function that runs minicnn's side on it::

    @pytest.mark.parametrize("backend, algorithm", implementations("conv2d"))
    def test_x(backend, algorithm, dtype):
        mini, ref = run_both(call_on("conv2d", backend, algorithm=algorithm, padding=1), x, w)

Random values come from :data:`RNG`, which tests/conftest.py reseeds before every test
(:func:`seed_everything`) from the session seed, so a failure replays with the seed it prints.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import random
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import pytest
import torch

import minicnn
import minicnn.nn.functional as mF
import torch.nn.functional as tF
from minicnn import backends
from minicnn.backends.availability import backend_devices
from minicnn.functional.conv import conv2d_geometry
from minicnn.functional.conv.registry import applicable_algorithms

# Relative tolerances: float64 should agree to rounding, float32 to accumulated rounding.
RTOL = {np.float64: 1e-9, np.float32: 2e-5}
ATOL = {np.float64: 1e-11, np.float32: 2e-6}

# ---------------------------------------------------------------------------- randomness
# One seed per session, drawn afresh (so successive runs explore different values) unless the
# environment variable fixes it; every test is seeded from it and its node id (conftest.py).
SEED_VARIABLE = "MINICNN_TEST_SEED"


def _session_seed() -> int:
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return int(np.random.SeedSequence().entropy % 2**32)
    try:
        return int(text)
    except ValueError:
        raise pytest.UsageError(f"{SEED_VARIABLE} must be an integer, got {text!r}") from None


SESSION_SEED = _session_seed()
RNG = np.random.default_rng()  # reseeded in place before every test: hold it, never replace it


def seed_of_test(session_seed: int, node_id: str) -> int:
    """The seed of one test: a hash of the session seed and the test's node id, so a test draws
    the same values whether it runs alone or in the whole suite, and other tests' draws do not
    shift it."""
    digest = hashlib.sha256(f"{session_seed}:{node_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % 2**63


def generator_for(key: str) -> np.random.Generator:
    """A generator of its own for what outlives one test (a module-scoped fixture's data), seeded
    from the session seed and ``key`` like a test, so it too replays under the same seed."""
    return np.random.default_rng(seed_of_test(SESSION_SEED, key))


def seed_everything(seed: int) -> None:
    """Seed every generator a test may draw from: :data:`RNG`, NumPy's global one, Python's,
    minicnn's (init, dropout, shuffling) and torch's."""
    RNG.bit_generator.state = np.random.PCG64(seed).state
    np.random.seed(seed % 2**32)
    random.seed(seed)
    minicnn.manual_seed(seed)
    torch.manual_seed(seed)


def rand(*shape, dtype=np.float64) -> np.ndarray:
    """Fresh standard-normal values (never zeros or ramps that could hide index errors)."""
    return RNG.standard_normal(shape).astype(dtype)


def to_numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return t.detach().numpy()


def assert_close(got, want, dtype=np.float64, what: str = "", scale_rtol: float = 1.0) -> float:
    """Assert ``got`` (minicnn or array) ≈ ``want`` (torch or array); return the worst relative error.

    The error is measured relative to the largest magnitude in ``want`` so that values that
    are near zero by cancellation do not blow up the ratio. The dtypes must be equal: a
    float32 result silently computed (or returned) in float64 is a bug, not a closer answer.
    """
    g = to_numpy(got) if not isinstance(got, np.ndarray) else got
    w = to_numpy(want) if not isinstance(want, np.ndarray) else want
    assert g.shape == w.shape, f"{what}: shape {g.shape} != torch {w.shape}"
    assert g.dtype == w.dtype, f"{what}: dtype {g.dtype} != {w.dtype}"
    # NaN where torch gives NaN (e.g. a weighted mean over targets that are all ignored) is right.
    nan = np.isnan(w)
    np.testing.assert_array_equal(np.isnan(g), nan, err_msg=f"{what}: NaN positions differ from torch")
    if nan.any():
        g, w = np.where(nan, 0, g), np.where(nan, 0, w)
    dtype = np.dtype(dtype).type
    scale = max(float(np.abs(w).max()) if w.size else 0.0, 1e-30)
    err = float(np.abs(g.astype(np.float64) - w.astype(np.float64)).max()) / scale if w.size else 0.0
    tol = RTOL[dtype] * scale_rtol + ATOL[dtype] / scale
    assert err <= tol, f"{what}: max relative error {err:.3g} > {tol:.3g} (dtype {dtype.__name__})"
    if err <= RTOL[dtype] * scale_rtol:  # values that are rounding noise around 0 pass on ATOL alone
        WORST[dtype.__name__] = max(WORST.get(dtype.__name__, 0.0), err)
    return err


WORST: dict[str, float] = {}


# ---------------------------------------------------------------------------- whole models
# A model's gradient jumps where a ReLU input crosses zero or a max-pool window's two largest
# values swap. Two correct float32 implementations sum in different orders, so their values
# differ by rounding (about 1e-7 of the largest); where a value lies that close to a kink they
# can land on either side and one gradient entry changes by a whole term. Measured on 1,000
# random LeNet-5 batches, ~0.3% of float32 passes hit one, and then torch was as often the one
# off from a float64 reference as minicnn. A model test therefore draws its batch again when
# some value lies within KINK_MARGIN (relative to its tensor's largest magnitude) of a kink:
# those gradients are decided by rounding, not by the implementation.
KINK_MARGIN = {np.float64: 1e-15, np.float32: 5e-7}


def kink_distance(torch_model: torch.nn.Module, *inputs) -> float:
    """The nearest approach, over one forward of ``torch_model``, of any ReLU input to 0 or of
    any max-pool window's runner-up to its maximum, relative to that tensor's largest magnitude."""
    nearest = [np.inf]

    def relative(gaps, tensor):
        if gaps.numel():
            scale = max(float(tensor.abs().max()), 1e-30)
            nearest[0] = min(nearest[0], float(gaps.min()) / scale)

    def relu_hook(module, args, output):
        relative(args[0].abs(), args[0])

    def max_pool_hook(module, args, output):
        x = args[0]
        assert module.padding == 0 and module.dilation == 1 and not module.ceil_mode, \
            "kink_distance reads max-pool windows without padding, dilation or ceil_mode"
        kh, kw = torch.nn.modules.utils._pair(module.kernel_size)
        sh, sw = torch.nn.modules.utils._pair(module.stride or module.kernel_size)
        windows = x.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)  # (N, C, OH, OW, KH*KW)
        top2 = windows.topk(2, dim=-1).values
        gaps = top2[..., 0] - top2[..., 1]
        # A window of ReLU's exact zeros is a tie too, but its gradient is zero whichever wins.
        relative(gaps[top2[..., 0] != 0], x)

    probe = copy.deepcopy(torch_model)  # a train-mode forward would move the BN running statistics
    for m in probe.modules():
        if isinstance(m, (torch.nn.ReLU, torch.nn.MaxPool2d)):
            m.register_forward_hook(relu_hook if isinstance(m, torch.nn.ReLU) else max_pool_hook)
    with torch.no_grad():
        probe(*(torch.as_tensor(a) for a in inputs))
    return nearest[0]


def draw_clear_of_kinks(torch_model: torch.nn.Module, draw: Callable, dtype, tries: int = 20):
    """``draw()`` again until the input it returns first (the rest: labels) keeps every value of
    ``torch_model``'s forward at least :data:`KINK_MARGIN` from a kink; fail after ``tries``."""
    margin = KINK_MARGIN[np.dtype(dtype).type]
    for _ in range(tries):
        drawn = draw()
        distance = kink_distance(torch_model, drawn[0])
        if distance >= margin:
            return drawn
    raise AssertionError(f"{tries} draws all came within {distance:.2g} < {margin:g} of a kink")


@dataclass
class Run:
    out: object
    inputs: list


def outputs(out) -> tuple:
    """An op's result as a tuple of its outputs (a single tensor is a 1-tuple)."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def paired_outputs(mini: Run, ref: Run, what: str = "") -> list[tuple[object, object]]:
    """The outputs of both runs side by side; as many from minicnn as from torch (a dropped
    output, say max-pool's indices, fails here instead of being skipped by ``zip``)."""
    outs_m, outs_t = outputs(mini.out), outputs(ref.out)
    assert len(outs_m) == len(outs_t), f"{what}: minicnn returned {len(outs_m)} outputs, torch {len(outs_t)}"
    return list(zip(outs_m, outs_t, strict=True))


def run_both(fn: Callable, *arrays: np.ndarray, requires_grad=None, seed_grad: bool = True):
    """Call ``fn(lib, F, *tensors)`` with lib = minicnn then torch; back-propagate one upstream grad.

    ``requires_grad`` is a list of booleans per input (default: float inputs require grad).
    Returns (mini Run, torch Run).
    """
    if requires_grad is None:
        requires_grad = [a.dtype.kind == "f" for a in arrays]
    runs = []
    for lib, F in ((minicnn, mF), (torch, tF)):
        tensors = []
        for a, rg in zip(arrays, requires_grad, strict=True):
            t = lib.tensor(a.copy())
            if rg:
                t.requires_grad_(True)
            tensors.append(t)
        runs.append(Run(fn(lib, F, *tensors), tensors))
    mini, ref = runs
    if seed_grad:
        for k, (om, ot) in enumerate(paired_outputs(mini, ref, "run_both")):
            assert om.requires_grad == ot.requires_grad, (
                f"output {k}: requires_grad is {om.requires_grad} in minicnn, {ot.requires_grad} in torch")
            if not ot.requires_grad:
                continue
            g = rand(*ot.shape, dtype=to_numpy(ot).dtype)
            om.backward(minicnn.tensor(g), retain_graph=True)
            ot.backward(torch.tensor(g), retain_graph=True)
    return mini, ref


def check(mini: Run, ref: Run, dtype, what: str = "", scale_rtol: float = 1.0) -> None:
    """Compare every output (their number, each one's dtype, shape and values; integer outputs
    such as indices exactly) and the gradient of every input that requires grad (dtype too)."""
    for k, (om, ot) in enumerate(paired_outputs(mini, ref, what)):
        assert isinstance(om, minicnn.Tensor), f"{what}: output {k} is a {type(om).__name__}, not a Tensor"
        if ot.dtype in (torch.int64, torch.int32, torch.bool):
            assert om.dtype == to_numpy(ot).dtype, f"{what}: output {k} dtype {om.dtype} != torch {ot.dtype}"
            np.testing.assert_array_equal(to_numpy(om), to_numpy(ot), err_msg=f"{what}: output {k}")
        else:
            assert_close(om, ot, dtype, f"{what}: output {k}", scale_rtol)
    for k, (tm, tt) in enumerate(zip(mini.inputs, ref.inputs, strict=True)):
        if tt.requires_grad:
            assert tt.grad is not None, f"{what}: torch gave no grad for input {k}"
            assert tm.grad is not None, f"{what}: minicnn gave no grad for input {k}"
            assert_close(tm.grad, tt.grad, dtype, f"{what}: grad of input {k}", scale_rtol)
        else:
            assert tm.grad is None, f"{what}: minicnn gave a grad to input {k}, which does not require one"


# ---------------------------------------------------------------------------- injected implementations
CONV_OPS = ("conv2d",)
POOL_OPS = ("max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d")
SIMULATOR = (
    "numba_cuda runs in Numba's CUDA simulator here, far too slow for this sweep; "
    "the tests that pass simulator=True (tiny shapes) check its kernels"
)


def _own_implementation(op: str, backend: str, algorithm: str | None) -> bool:
    """Whether ``backend`` registered its own implementation of ``op`` (with ``algorithm``; the
    pools' one algorithm is "direct"), rather than running the references that numpy runs too."""
    return backends.registry.own(op, algorithm or "direct", backend) is not None


def _distinct(op: str, backend: str, algorithm: str | None) -> bool:
    """The implementations worth running: everything on the reference CPU backend (numpy) and
    on a GPU backend (even the generic code then runs on CuPy arrays); on another CPU backend,
    only what it computes with its own kernels — its other calls are numpy's code again."""
    return backend == "numpy" or backend_devices(backend) == ("cuda",) or _own_implementation(op, backend, algorithm)


def implementations(op: str, *, simulator: bool = False) -> list:
    """One ``pytest.param`` per implementation of ``op`` here, for ``parametrize``.

    conv2d: ``pytest.param(backend, algorithm, id="numba-direct")`` for every usable backend
    (:func:`minicnn.backends.available`) and algorithm (:func:`minicnn.available_algorithms`);
    a pooling op: ``pytest.param(backend, id="numba")``. A backend that is not usable here is
    one param skipped with :func:`~minicnn.backends.available`'s reason. ``simulator``: the
    test's shapes are tiny enough for Numba's CUDA simulator (it runs every GPU thread as a
    Python thread), so numba_cuda runs there too; otherwise it is skipped with that reason.
    """
    assert op in CONV_OPS + POOL_OPS, f"implementations: no injection for op {op!r}"
    conv = op in CONV_OPS
    params = []
    for backend, (usable, why) in backends.available().items():
        if not usable or (backend == "numba_cuda" and device_of_backend(backend) == "cpu" and not simulator):
            reason = f"backend {backend!r} is not available here: {why}" if not usable else SIMULATOR
            blank = (None,) if conv else ()
            params.append(pytest.param(backend, *blank, id=f"{backend}-skipped", marks=pytest.mark.skip(reason=reason)))
            continue
        for algorithm in minicnn.available_algorithms() if conv else (None,):
            if _distinct(op, backend, algorithm):
                values = (backend, algorithm) if conv else (backend,)
                params.append(pytest.param(*values, id="-".join(values)))
    return params


def _applies(op: str, backend: str, algorithm: str | None, case) -> bool:
    """Whether the implementation computes the case's geometry at all (winograd: 3x3, stride 1)."""
    if op not in CONV_OPS:
        return True
    x_shape, w_shape, kwargs = case.values[:3]
    geometry = conv2d_geometry(x_shape, w_shape, None, **kwargs)
    return algorithm in applicable_algorithms(geometry, backend)


def sweep(op: str, cases: list, *, simulator: bool = False) -> list:
    """``implementations(op)`` crossed with ``cases`` (pytest.params whose values come after the
    implementation's), for one ``parametrize``: ids like "numba-direct-odd_square". A conv2d
    case goes only to the algorithms that compute its geometry; an implementation that is not
    usable here is one skipped param, not one per case."""
    params = []
    for implementation in implementations(op, simulator=simulator):
        if implementation.marks:
            blanks = (None,) * len(cases[0].values)
            params.append(pytest.param(*implementation.values, *blanks, id=implementation.id,
                                       marks=implementation.marks))
            continue
        backend, algorithm = (*implementation.values, None)[:2]  # pooling's params carry no algorithm
        params += [pytest.param(*implementation.values, *case.values, id=f"{implementation.id}-{case.id}",
                                marks=case.marks)
                   for case in cases if _applies(op, backend, algorithm, case)]
    return params


def device_of_backend(backend: str) -> str:
    """Where minicnn's tensors must live for ``backend`` to compute on them: "cpu" or "cuda"."""
    return backend_devices(backend)[0]


@contextlib.contextmanager
def _selected(op: str, backend: str, algorithm: str | None) -> Iterator[dict]:
    """The keyword arguments (and the context) that make minicnn's ``op`` run on ``backend``
    with ``algorithm``: conv2d and the pools with kernels take ``backend=`` per call; the
    adaptive pools have no kernels and follow the process default."""
    if op in CONV_OPS:
        yield dict(backend=backend, algorithm=algorithm)
    elif op in ("max_pool2d", "avg_pool2d"):
        yield dict(backend=backend)
    else:
        with backends.use_backend(backend):
            yield {}


def on_device(device: str, fn: Callable) -> Callable:
    """A run_both function that gives minicnn its tensors on ``device`` and hands its outputs back
    on the CPU. ``Tensor.to`` is differentiable, so the gradients arrive on the CPU leaves."""

    def run(lib, F_, *tensors):
        if lib is not minicnn or device == "cpu":
            return fn(lib, F_, *tensors)
        out = fn(lib, F_, *(t.to(device) for t in tensors))
        return tuple(o.cpu() for o in out) if isinstance(out, tuple) else out.cpu()

    return run


def call_on(op: str, backend: str, *args, algorithm: str | None = None, prepare: Callable | None = None,
            finish: Callable | None = None, **kwargs) -> Callable:
    """A run_both function computing ``F.<op>(*tensors, *args, **kwargs)``, minicnn's side on
    ``backend`` (with ``algorithm``, conv2d only) and on that backend's device.

    ``prepare(tensors) -> tensors`` runs before the op in both libraries (say, a permute to a
    channels-last view) and ``finish(out) -> out`` after it, both differentiable.
    """

    def fn(lib, F_, *tensors):
        tensors = prepare(tensors) if prepare else tensors
        if lib is minicnn:
            with _selected(op, backend, algorithm) as selection:
                out = getattr(F_, op)(*tensors, *args, **kwargs, **selection)
        else:
            out = getattr(F_, op)(*tensors, *args, **kwargs)
        return finish(out) if finish else out

    return on_device(device_of_backend(backend), fn)
