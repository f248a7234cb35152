"""No silent cliff: NumPy's BLAS pool and Numba's never run unlimited against each other.

While numba is the process default, NumPy's BLAS runs on one thread through threadpoolctl (a
core dependency). Where it cannot be limited — threadpoolctl missing from the environment, or a
BLAS it cannot control — the slow configuration is announced once with a RuntimeWarning that
names the fix. A per-call ``backend="numba"`` changes nothing process-wide.
"""
from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import minicnn
import minicnn.nn.functional as F
from minicnn import backends
from minicnn.backends import selection


@pytest.fixture
def numba_default(monkeypatch):
    """A clean slate for the limit (none in force, no warning given yet); numpy the default after."""
    usable, why = backends.available()["numba"]
    if not usable:
        pytest.skip(f"numba backend unusable here: {why}")
    previous = backends.get_backend()
    backends.set_backend("numpy")  # no limit in force
    monkeypatch.setattr(selection, "_warned_unlimited", False)
    yield
    backends.set_backend(previous if previous != "numba" else "numpy")


@pytest.fixture
def without_threadpoolctl(monkeypatch):
    """``import threadpoolctl`` raises ImportError, as in an environment that lacks it."""
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)


def _tiny_conv(**kwargs):
    rng = np.random.default_rng(0)
    x = minicnn.tensor(rng.standard_normal((1, 1, 4, 4)).astype(np.float32))
    w = minicnn.tensor(rng.standard_normal((1, 1, 3, 3)).astype(np.float32))
    return F.conv2d(x, w, **kwargs)


def test_threadpoolctl_is_a_core_dependency():
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    (dependencies,) = re.findall(r"^dependencies = \[(.*)\]$", pyproject, re.MULTILINE)
    assert '"threadpoolctl>=3"' in dependencies


def test_numba_as_the_default_without_threadpoolctl_warns_once_naming_the_fix(numba_default, without_threadpoolctl):
    with pytest.warns(RuntimeWarning, match=r"backend 'numba': NumPy's BLAS threads cannot be limited "
                                            r"\(threadpoolctl is not installed\).*pip install threadpoolctl"):
        backends.set_backend("numba")
    backends.set_backend("numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second warning would raise here
        backends.set_backend("numba")
        _tiny_conv()  # and the slow configuration still computes
    backends.set_backend("numpy")


def test_the_warning_names_the_environment_fix_too(numba_default, without_threadpoolctl):
    with pytest.warns(RuntimeWarning, match="OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1"):
        with backends.use_backend("numba"):
            pass


def test_a_blas_that_threadpoolctl_cannot_control_warns_too(numba_default, monkeypatch):
    import threadpoolctl

    class NoBlasFound:  # what threadpool_limits returns where it finds no BLAS library
        def __init__(self, limits, user_api):
            assert (limits, user_api) == (1, "blas")

        def get_original_num_threads(self):
            return {"blas": None}

        def restore_original_limits(self):
            pass

    monkeypatch.setattr(threadpoolctl, "threadpool_limits", NoBlasFound)
    with pytest.warns(RuntimeWarning, match="threadpoolctl finds no BLAS library it can control"):
        backends.set_backend("numba")


def test_with_threadpoolctl_the_numba_default_limits_quietly(numba_default):
    import threadpoolctl

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with backends.use_backend("numba"):
            assert {pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                    if pool["user_api"] == "blas"} == {1}


def test_a_per_call_numba_backend_neither_limits_nor_warns(numba_default, without_threadpoolctl):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _tiny_conv(backend="numba")
    assert selection._blas_limit is None and not selection._warned_unlimited

