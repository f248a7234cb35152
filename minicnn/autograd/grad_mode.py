"""Global switch for graph recording: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each works as torch's does: as a context manager, and as a function decorator (``no_grad``
and ``enable_grad`` also without parentheses).
"""
from __future__ import annotations

import functools
import threading
from typing import Callable


class _GradState(threading.local):
    enabled = True


_state = _GradState()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode:
    """Sets grad mode to ``mode`` inside a ``with`` block or a decorated function."""

    mode = True

    def __new__(cls, func: Callable | None = None):
        instance = super().__new__(cls)
        return instance if func is None else instance(func)  # bare @no_grad decorates func

    def __enter__(self) -> None:
        self._previous = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc) -> bool:
        _state.enabled = self._previous
        return False

    def __call__(self, func: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            previous = _state.enabled
            _state.enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                _state.enabled = previous

        return wrapper


class no_grad(_GradMode):
    """Operations inside do not record a graph (like ``torch.no_grad``)."""

    mode = False


class enable_grad(_GradMode):
    """Record a graph again, e.g. inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn recording on or off now; used with ``with`` or as a decorator, restore it afterwards."""

    def __new__(cls, mode: bool):
        return object.__new__(cls)

    def __init__(self, mode: bool):
        self._previous = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode

    def __enter__(self) -> None:
        pass  # the mode was already set by the constructor, as in torch

    def __call__(self, func: Callable) -> Callable:
        _state.enabled = self._previous  # decorating must not change the mode outside func
        return super().__call__(func)
