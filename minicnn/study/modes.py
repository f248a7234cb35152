"""Change a model's state for a moment and put it back: eval mode, frozen parameters.

The study tools run models they do not own; afterwards the model must be exactly as the
caller left it (train/eval flags, requires_grad flags, accumulated ``.grad`` s).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from .. import nn


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``with evaluating(model): model(x)`` — BatchNorm uses (and keeps) its running
    statistics and dropout is off inside; afterwards each module is back in the mode it was
    in (modules may have been in mixed modes, so the flags are saved one by one)."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


@contextlib.contextmanager
def frozen_parameters(model: nn.Module) -> Iterator[nn.Module]:
    """No parameter requires grad inside, so a backward pass adds nothing to their ``.grad``;
    the flags are restored afterwards."""
    flags = [(param, param.requires_grad) for param in model.parameters()]
    for param, _ in flags:
        param.requires_grad_(False)
    try:
        yield model
    finally:
        for param, requires_grad in flags:
            param.requires_grad_(requires_grad)
