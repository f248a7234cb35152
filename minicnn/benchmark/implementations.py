"""Who computes a benchmarked op: torch on a device, or a minicnn backend (with a conv algorithm).

An :class:`Implementation` knows how to make its library's tensors, under which context its
ops must run (the backend, no_grad for a forward-only case) and how to wait for a GPU. The
same case code then drives torch and minicnn alike, since minicnn mirrors torch's API.

torch is optional at run time: :func:`optional_torch` imports it only when a benchmark asks,
so ``import minicnn`` (and the ``minicnn`` command) never needs it.
"""
from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ContextManager, Sequence

import numpy as np

from .. import backends
from ..backends import registry
from ..backends.availability import backend_devices, numba_cuda_simulated
from ..backends.selection import REFERENCE_BACKEND
from ..functional.conv.registry import applicable_algorithms, available_algorithms
from ..geometry import ConvGeometry

# "auto" times the algorithms of the backend it runs under and keeps the fastest, so it is a
# different measurement on every backend even where that backend specialises nothing of its own.
TUNING_ALGORITHMS = ("auto",)


def optional_torch() -> tuple[ModuleType | None, str]:
    """(torch, its version) when it imports, else (None, why not), with all cores given to it.

    torch's default thread count is the number of physical cores; NumPy's BLAS uses every
    logical one, so torch gets the same to make the comparison fair (as benchmarks/conftest.py).
    """
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:  # ImportError, or a broken install: either way, no torch rows
        return None, f"torch is not installed or failed to import ({type(exc).__name__}: {exc})"
    torch.set_num_threads(os.cpu_count() or 1)
    return torch, f"torch {torch.__version__}"


@dataclass(frozen=True)
class Implementation:
    """torch on ``device`` (backend None), or minicnn's ``backend`` (conv: with ``algorithm``)."""

    device: str
    backend: str | None = None
    algorithm: str | None = None
    torch: ModuleType | None = None  # the torch module, for torch implementations

    @property
    def is_torch(self) -> bool:
        return self.backend is None

    @property
    def label(self) -> str:
        """"torch-cpu", "numpy/im2col", "numba" (an op with no algorithm choice)."""
        if self.is_torch:
            return f"torch-{self.device}"
        return self.backend if self.algorithm is None else f"{self.backend}/{self.algorithm}"

    @property
    def runtime(self) -> str:
        """Whose thread pools and caches it uses: implementations of one runtime run back to back."""
        return f"torch-{self.device}" if self.is_torch else self.backend

    @property
    def library(self) -> ModuleType:
        if self.is_torch:
            return self.torch
        import minicnn

        return minicnn

    def scope(self, differentiate: bool) -> ContextManager:
        """The context its ops run in: minicnn's backend selected; no autograd graph for a forward."""
        stack = contextlib.ExitStack()
        if not self.is_torch:
            stack.enter_context(backends.use_backend(self.backend))
        if not differentiate:
            stack.enter_context(self.library.no_grad())
        return stack

    def tensor(self, array: np.ndarray, requires_grad: bool = False) -> Any:
        """A tensor of this library on this device holding a copy of ``array``."""
        return self.library.tensor(array, device=self.device, requires_grad=requires_grad)

    def synchronize(self) -> None:
        """Wait until the GPU has finished what was launched (nothing to wait for on a CPU)."""
        if self.device == "cuda":
            self.library.cuda.synchronize()

    def conv2d_options(self) -> dict[str, str]:
        """The extra conv2d keyword of minicnn (the backend comes from :meth:`scope`)."""
        return {} if self.algorithm is None else {"algorithm": self.algorithm}

    def __str__(self) -> str:
        return self.label


def torch_devices(torch: ModuleType | None) -> tuple[str, ...]:
    """The devices torch runs on here: "cpu", and "cuda" when it sees a GPU; none without torch."""
    if torch is None:
        return ()
    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def benchmarked_backends(requested: Sequence[str] | None = None) -> tuple[tuple[str, ...], dict[str, str]]:
    """(backends to time, {backend: why it is left out}).

    ``requested`` None: every usable backend, except numba_cuda under Numba's CUDA simulator
    (an interpreter of the kernels, for checking them: timing it says nothing). A requested
    backend that is unknown or unusable is an error naming the reason.
    """
    status = backends.available()
    if requested is not None:
        for name in requested:
            if name not in status:
                raise ValueError(f"--backends: unknown backend {name!r}; choose from {', '.join(status)}")
            usable, why = status[name]
            if not usable:
                raise ValueError(f"--backends: backend {name!r} is not available here: {why}")
        return tuple(requested), {}
    chosen, skipped = [], {}
    for name, (usable, why) in status.items():
        if not usable:
            skipped[name] = why
        elif name == "numba_cuda" and numba_cuda_simulated():
            skipped[name] = "runs in Numba's CUDA simulator here, which checks kernels but says nothing about speed"
        else:
            chosen.append(name)
    return tuple(chosen), skipped


def check_algorithms(requested: Sequence[str]) -> tuple[str, ...]:
    """``--algorithms`` as given, after checking every name is a registered conv2d algorithm."""
    known = available_algorithms()
    for name in requested:
        if name not in known:
            raise ValueError(f"--algorithms: unknown conv2d algorithm {name!r}; choose from {', '.join(known)}")
    return tuple(requested)


def _distinct_on(backend: str, algorithm: str) -> bool:
    """Whether ``algorithm`` on ``backend`` computes differently from every other pair measured.

    A device's reference backend (numpy, cupy) runs every algorithm. Another backend (numba)
    adds only the algorithms it registered its own implementations for: for the rest it runs the
    references, a duplicate measurement.
    """
    if backend in REFERENCE_BACKEND.values() or algorithm in TUNING_ALGORITHMS:
        return True
    return algorithm in registry.own_algorithms("conv2d", backend)


def minicnn_device(backend: str) -> str:
    """The device whose tensors ``backend`` computes on ("cpu" or "cuda")."""
    return backend_devices(backend)[0]


def conv2d_implementations(geometry: ConvGeometry, backend_names: Sequence[str],
                           algorithms: Sequence[str] | None, torch: ModuleType | None) -> list[Implementation]:
    """torch on each device, then every (backend, algorithm) pair that computes ``geometry``
    (``algorithms`` None: every registered one) and is not a duplicate (:func:`_distinct_on`)."""
    found = [Implementation(device, torch=torch) for device in torch_devices(torch)]
    for backend in backend_names:
        applicable = applicable_algorithms(geometry, backend)
        for algorithm in algorithms or available_algorithms():
            if algorithm in applicable and _distinct_on(backend, algorithm):
                found.append(Implementation(minicnn_device(backend), backend, algorithm))
    return found


def backend_implementations(backend_names: Sequence[str], torch: ModuleType | None) -> list[Implementation]:
    """torch on each device, then each backend: for ops with no algorithm choice (pooling, LeNet)."""
    return ([Implementation(device, torch=torch) for device in torch_devices(torch)]
            + [Implementation(minicnn_device(backend), backend) for backend in backend_names])

