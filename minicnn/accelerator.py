"""``minicnn.accelerator``: torch.accelerator's questions, answered for minicnn's one kind (CUDA).

Programs written for torch 2.6+ pick their device with::

    device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() \\
        else torch.device("cpu")

minicnn's only accelerator is a CUDA GPU through CuPy. Where none is usable the answers are
torch's on a CPU-only machine: ``is_available()`` is False, ``current_accelerator()`` is
None and ``device_count()`` is 0 — never an exception.
"""
from __future__ import annotations

from . import cuda
from .device import device

__all__ = ["current_accelerator", "device_count", "is_available", "synchronize"]


def is_available() -> bool:
    """True when a CUDA GPU is usable (CuPy imports and sees a device)."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device("cuda")`` where a GPU is usable here, else None (as torch without an accelerator).

    torch returns the accelerator it was *built* for even when no device is present, unless
    ``check_available``; minicnn is never built for one, so both spellings give the same answer.
    """
    return device("cuda") if cuda.is_available() else None


def device_count() -> int:
    """The number of usable GPUs (0 where none)."""
    return cuda.device_count()


def synchronize() -> None:
    """Wait for the GPU's queued work to finish (nothing to wait for on the CPU)."""
    cuda.synchronize()
