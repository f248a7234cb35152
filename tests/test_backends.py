"""The backend model: availability, selection (per call, per process, MINICNN_BACKEND) and dispatch
to a backend's kernels.

The parity sweeps run on every backend from the ops' own files (test_conv.py, test_pooling.py),
which parity.sweep injects with each usable backend (and a skipped param, with the reason, for
each one that is not).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import minicnn
import minicnn.nn.functional as F
from minicnn import backends
from minicnn.backends import registry as implementations
from minicnn.backends import selection
from minicnn.backends.availability import backend_devices
from minicnn.functional.conv import direct, registry
from parity import rand

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

AVAILABLE = backends.available()


def _skip_reason(name: str) -> str | None:
    usable, why = AVAILABLE[name]
    return None if usable else f"backend {name!r} is not available here: {why}"


# ---------------------------------------------------------------------------- availability
def test_available_lists_every_backend_with_a_reason():
    report = backends.available()
    assert tuple(report) == backends.BACKEND_NAMES == ("numpy", "numba", "cupy", "numba_cuda")
    assert report["numpy"][0] is True
    for name, (usable, why) in report.items():
        assert isinstance(usable, bool) and isinstance(why, str) and why, name


@pytest.fixture
def without_packages(monkeypatch):
    """Make ``import numba`` and ``import cupy`` fail, as on a machine without them."""
    minicnn.cuda._probe.cache_clear()
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    yield
    minicnn.cuda._probe.cache_clear()


def test_available_says_why_when_packages_are_missing(without_packages):
    report = backends.available()
    assert report["numpy"][0]
    assert report["numba"][0] is False
    assert "numba is not installed" in report["numba"][1] and "pip install 'minicnn[numba]'" in report["numba"][1]
    assert not report["cupy"][0] and "CuPy is not installed" in report["cupy"][1]
    assert not report["numba_cuda"][0] and "numba is not installed" in report["numba_cuda"][1]


def _run_python(code: str, **environment: str) -> str:
    """Run ``code`` in a fresh interpreter (the environment decides at import) and return its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **environment}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_bad_environment_variable_is_reported_at_first_use_not_at_import():
    code = """
import minicnn, minicnn.nn.functional as F
print(sorted(minicnn.backends.available()))
try:
    F.conv2d(minicnn.ones(1, 1, 3, 3), minicnn.ones(1, 1, 2, 2))
except ValueError as error:
    print(error)
"""
    lines = _run_python(code, MINICNN_BACKEND="tpu").splitlines()
    assert lines[0] == "['cupy', 'numba', 'numba_cuda', 'numpy']"
    assert lines[1] == "MINICNN_BACKEND=tpu: unknown backend 'tpu'; choose one of numpy, numba, cupy, numba_cuda"


def test_environment_variable_sets_the_process_default():
    if _skip_reason("numba"):
        pytest.skip(_skip_reason("numba"))
    code = """
import numpy as np, minicnn
from minicnn.backends import get_backend, select_backend
from minicnn.functional.conv import get_algorithm
print(get_backend(), select_backend("conv2d", np.zeros(1)), type(get_algorithm("direct", get_backend())).__module__)
"""
    assert _run_python(code, MINICNN_BACKEND="numba") == "numba numba minicnn.tuned.numba"


# ---------------------------------------------------------------------------- selection
@pytest.fixture
def default_restored(monkeypatch):
    """Whatever a test does to the process default is undone after it."""
    monkeypatch.setattr(selection, "_default_backend", backends.get_backend())


@pytest.fixture
def everything_usable(monkeypatch, default_restored):
    """Pretend every backend is installed, to test the selection rules on a machine without a GPU."""
    monkeypatch.setattr(selection, "probe", lambda name: (True, "pretended"))


def test_set_backend_rejects_unknown_and_unusable_names(monkeypatch, default_restored):
    with pytest.raises(ValueError, match=r"set_backend: unknown backend 'tpu'; choose one of numpy, numba, cupy, "
                                         r"numba_cuda"):
        backends.set_backend("tpu")
    monkeypatch.setattr(selection, "probe", lambda name: (name == "numpy", "no GPU here"))
    with pytest.raises(RuntimeError, match=r"set_backend: backend 'cupy' is not available here: no GPU here"):
        backends.set_backend("cupy")
    assert backends.get_backend() == "numpy"


def test_use_backend_restores_the_default_even_after_an_exception(everything_usable):
    backends.set_backend("numpy")
    with pytest.raises(KeyError, match="boom"):
        with backends.use_backend("numba"):
            assert backends.get_backend() == "numba"
            with backends.use_backend("cupy"):
                assert backends.get_backend() == "cupy"
            assert backends.get_backend() == "numba"
            raise KeyError("boom")
    assert backends.get_backend() == "numpy"


def test_process_default_falls_back_to_the_reference_backend_of_the_arrays_device(everything_usable):
    cpu_array = np.zeros((1, 1, 2, 2))
    with backends.use_backend("numba"):
        assert backends.select_backend("conv2d", cpu_array) == "numba"
    with backends.use_backend("cupy"):  # a GPU backend as the default: CPU arrays still compute, with NumPy
        assert backends.select_backend("conv2d", cpu_array) == "numpy"


def test_explicit_backend_must_compute_on_the_inputs_device(everything_usable):
    cpu_array = np.zeros((1, 1, 2, 2))
    assert backends.select_backend("conv2d", cpu_array, "numba") == "numba"
    with pytest.raises(RuntimeError, match=r"conv2d: backend 'cupy' computes on cuda tensors, but the input is on "
                                           r"cpu; move the tensors with .to\('cuda'\) or pick another backend"):
        backends.select_backend("conv2d", cpu_array, "cupy")


def test_conv2d_rejects_an_unknown_or_unusable_backend(monkeypatch):
    x, w = minicnn.tensor(rand(1, 1, 4, 4)), minicnn.tensor(rand(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: unknown backend 'tpu'; choose one of numpy, numba, cupy, "
                                         r"numba_cuda"):
        F.conv2d(x, w, backend="tpu")
    monkeypatch.setattr(selection, "probe", lambda name: (name == "numpy", "CuPy is not installed"))
    with pytest.raises(RuntimeError, match=r"conv2d: backend 'cupy' is not available here: CuPy is not installed"):
        F.conv2d(x, w, backend="cupy")


# ---------------------------------------------------------------------------- dispatch
class _Spy:
    """Delegates to a real implementation and records which methods were called."""

    def __init__(self, target):
        self.target, self.calls = target, []

    def __getattr__(self, method):
        implementation = getattr(self.target, method)  # AttributeError for what the target lacks

        def call(*args, **kwargs):
            self.calls.append(method)
            return implementation(*args, **kwargs)

        return call


@pytest.fixture
def numba_required():
    if _skip_reason("numba"):
        pytest.skip(_skip_reason("numba"))


@pytest.fixture
def conv_spy(numba_required):
    """A spy registered as numba's "direct", in a registry restored afterwards."""
    with implementations.snapshot():
        spy = _Spy(direct)
        registry.register_algorithm("direct", spy, backend="numba")
        yield spy


def test_registry_specialises_per_backend_and_falls_back_to_the_generic(conv_spy):
    assert registry.get_algorithm("direct", "numba") is conv_spy
    assert registry.get_algorithm("direct", "numpy") is direct
    assert registry.get_algorithm("direct") is direct
    x = minicnn.tensor(rand(1, 2, 5, 5))
    w = minicnn.tensor(rand(3, 2, 3, 3), requires_grad=True)
    F.conv2d(x, w, algorithm="direct").sum().backward()  # default backend numpy: the generic code
    assert conv_spy.calls == []
    F.conv2d(x, w, algorithm="direct", backend="numba").sum().backward()
    assert conv_spy.calls == ["forward", "backward"]
    with backends.use_backend("numba"):
        y = F.conv2d(x, w, algorithm="direct")  # the process default
    y.sum().backward()  # after the block: the backward still belongs to the forward's implementation
    assert conv_spy.calls == ["forward", "backward"] * 2


def test_numba_as_the_default_runs_numpys_blas_on_one_thread_until_it_stops_being_the_default(numba_required):
    import threadpoolctl  # the numba extra installs it

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() and set(blas_threads()) == {2}
        F.conv2d(minicnn.tensor(rand(1, 1, 4, 4)), minicnn.tensor(rand(1, 1, 3, 3)), backend="numba")
        assert set(blas_threads()) == {2}  # a per-call backend leaves the threads alone
        with backends.use_backend("numba"):
            assert set(blas_threads()) == {1}
            with backends.use_backend("numba"):  # nested: still one limit, undone once
                assert set(blas_threads()) == {1}
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {2}


def test_each_backend_registers_what_its_package_implements(numba_required):
    """The one registry lists, per backend, the (op, algorithm) pairs it computes with its own code."""
    pairs = {(entry.op, entry.algorithm) for entry in backends.implementations("numba")}
    assert pairs == {("conv2d", "direct"), ("conv2d", "im2col"), ("conv2d", "winograd"),
                     ("max_pool2d", "direct"), ("avg_pool2d", "direct")}
    assert {(entry.op, entry.algorithm) for entry in backends.implementations("numpy")} == {
        ("conv2d", "im2col"), ("conv2d", "winograd")}
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        backends.implementations("tpu")


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_pooling_backend_reaches_the_backends_implementation(op, numba_required):
    """Pooling's backend= (per call) and the process default both reach the registered implementation."""
    pool = getattr(F, op)
    with implementations.snapshot():
        spy = _Spy(implementations.own(op, "direct", "numba"))
        implementations.register(op, "direct", spy, backend="numba")
        x = minicnn.tensor(rand(1, 2, 6, 6), requires_grad=True)
        pool(x, 2).sum().backward()  # default backend numpy: the reference
        assert spy.calls == []
        pool(x, 2, backend="numba").sum().backward()
        assert spy.calls == ["forward", "backward"]
        with backends.use_backend("numba"):
            y = pool(x, 2)
        y.sum().backward()  # after the block: the backward still belongs to the forward's implementation
        assert spy.calls == ["forward", "backward"] * 2
    assert implementations.lookup(op, "direct", "numpy") is implementations.reference(op, "direct")


def test_a_registration_made_before_its_backend_loads_is_kept(numba_required):
    """Registering numba's "direct" in a fresh process, before numba's package is imported, is not
    undone when the first numba op imports it: the program's choice stands."""
    code = """
import sys
import numpy as np
import minicnn, minicnn.nn.functional as F
from minicnn.backends import registry
assert "minicnn.tuned.numba" not in sys.modules
calls = []
class Spy:
    def forward(self, x, w, geom):
        calls.append("forward")
        return registry.reference("conv2d", "direct").forward(x, w, geom)
registry.register("conv2d", "direct", Spy(), backend="numba")
F.conv2d(minicnn.ones(1, 1, 4, 4), minicnn.ones(1, 1, 3, 3), algorithm="direct", backend="numba")
assert "minicnn.tuned.numba" in sys.modules
print(calls, type(registry.own("conv2d", "im2col", "numba")).__module__)
"""
    assert _run_python(code) == "['forward'] minicnn.tuned.numpy.im2col"
