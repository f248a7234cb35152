"""One forward pass of any model, layer by layer, with what each conv layer multiplied.

:func:`trace_model` hooks every leaf module (one without children: Conv2d, ReLU, Linear, …)
and records, in the order they ran, its output and, for a Conv2d, the input it was given and
its weights and geometry — everything needed to redo one output value as a dot product. A
module called twice (a ReLU reused in a ResNet block) is recorded at each call. Arithmetic a
model does outside modules (a residual sum) is seen only in the outputs that follow it.

:func:`load_model` builds the model from a checkpoint through minicnn's own loaders, so any
file they read works here. These are the numbers :mod:`.model_page` puts in the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import nn, serialization
from ..autograd import no_grad
from ..functional.conv import conv2d_geometry
from ..models import get_model, list_models
from ..tensor import Tensor
from ..training.checkpoint import FORMAT as TRAINING_CHECKPOINT, load_checkpoint
from .modes import evaluating


@dataclass(frozen=True)
class ConvRecord:
    """What one Conv2d call computed with: output[o, p, q] = bias[o] + sum over the group's
    input channels c and taps (a, b) of weight[o, c', a, b] * input[c, p*sh - top + a*dh,
    q*sw - left + b*dw], zero where that falls in the padding (c' = c within the group).

    input    (C_in, H, W) the activation the layer was given
    weight   (C_out, C_in / groups, KH, KW)
    bias     (C_out,) or None
    stride, dilation   (rows, cols); padding (top, bottom, left, right); groups
    source   index into ModelTrace.layers of the layer whose output is ``input``; -1 when it
             is the model's input; None when it was computed outside a module
    """

    input: np.ndarray
    weight: np.ndarray
    bias: np.ndarray | None
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int
    source: int | None


@dataclass(frozen=True)
class LayerRecord:
    """One leaf-module call: dotted name (with "#2" etc. for a repeat call), class name,
    its output without the batch axis, and a ConvRecord for a Conv2d."""

    name: str
    kind: str
    output: np.ndarray
    conv: ConvRecord | None


@dataclass(frozen=True)
class ModelTrace:
    """The input (C, H, W), the layers in the order they ran, and the softmax of the logits."""

    input: np.ndarray
    layers: list[LayerRecord]
    probabilities: np.ndarray

    @property
    def predicted(self) -> int:
        return int(self.probabilities.argmax())


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    if not leaves or leaves == [("", model)]:
        raise ValueError(f"{type(model).__name__}: no layers to show (the model has no submodules)")
    return leaves


def trace_model(model: nn.Module, x: Tensor) -> ModelTrace:
    """Run one image ``x`` (1, C, H, W) through ``model`` in eval mode (modes restored after)
    and record every leaf module's call; the model's output must be (1, classes) logits."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"trace_model: expected one image as (1, C, H, W), got {tuple(x.shape)}")
    calls: list[tuple[str, nn.Module, Tensor, Tensor]] = []   # name, module, input, output
    seen: dict[str, int] = {}

    def record(module, args, output, name):
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}#{seen[name]}"
        if isinstance(output, tuple):   # e.g. a max pool with return_indices=True
            output = output[0]
        calls.append((label, module, args[0] if args else None, output))

    handles = [m.register_forward_hook(lambda module, args, output, name=name:
                                       record(module, args, output, name))
               for name, m in _leaves(model)]
    try:
        with evaluating(model), no_grad():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    if logits.dim() != 2 or logits.shape[0] != 1:
        raise ValueError(f"{type(model).__name__}: expected (1, classes) logits from the model, "
                         f"got {tuple(logits.shape)}")
    outputs = [output for *_, output in calls]
    layers = [LayerRecord(label, type(module).__name__, _array(output, label)[0],
                          _conv_record(module, given, x, outputs[:i])
                          if isinstance(module, nn.Conv2d) else None)
              for i, (label, module, given, output) in enumerate(calls)]
    probabilities = logits.softmax(dim=1).numpy()[0]
    return ModelTrace(_array(x, "input")[0], layers, probabilities)


def _conv_record(layer: nn.Conv2d, given: Tensor, x: Tensor, earlier: list[Tensor]) -> ConvRecord:
    """The conv's numbers; ``earlier``: the outputs of the calls before it, to find whose
    output it was given (by identity: the very tensor, not one that happens to be equal)."""
    geometry = conv2d_geometry(tuple(given.shape), tuple(layer.weight.shape),
                               None if layer.bias is None else tuple(layer.bias.shape),
                               layer.stride, layer.padding, layer.dilation, layer.groups)
    source = -1 if given is x else next(
        (i for i in reversed(range(len(earlier))) if earlier[i] is given), None)
    return ConvRecord(
        input=_array(given, "conv input")[0],
        weight=layer.weight.detach().numpy().copy(),
        bias=None if layer.bias is None else layer.bias.detach().numpy().copy(),
        stride=geometry.stride, padding=geometry.padding, dilation=geometry.dilation,
        groups=geometry.groups, source=source)


def _array(tensor: Tensor, name: str) -> np.ndarray:
    array = tensor.detach().numpy().copy()
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: the model produced non-finite values (NaN or inf)")
    return array


def load_model(checkpoint: str | Path, model_name: str | None = None) -> nn.Module:
    """The model in a checkpoint, weights loaded, in eval mode.

    A training checkpoint (``minicnn train``'s best.npz / last.npz) names its architecture;
    ``model_name``, if given, must agree. Any other file :func:`minicnn.load` reads is taken
    as a state dict (or a dict holding one under "model" or "state_dict") for the registered
    model ``model_name``. Both go through minicnn's own loaders, so every format they read
    works here.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    contents = serialization.load(path)
    if isinstance(contents, dict) and contents.get("format") == TRAINING_CHECKPOINT:
        saved = load_checkpoint(path)
        saved.check_model(model_name)
        return saved.build_model()
    state = contents
    if isinstance(contents, dict):
        state = next((contents[key] for key in ("model", "state_dict")
                      if isinstance(contents.get(key), dict)), contents)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    if model_name is None:
        raise ValueError(f"{path} holds weights but does not say which model they belong to: "
                         f"name it with --model (one of {', '.join(list_models())})")
    model = get_model(model_name)
    try:
        model.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as error:
        raise ValueError(f"{path}: the weights do not fit {model_name!r}: {error}") from error
    return model.eval()
