"""What a trained CNN has learned, as arrays: its first filters, its feature maps, Grad-CAM.

The plots in :mod:`.visualize` draw these; they are separate so that the numbers can be
tested (and used) without matplotlib.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import nn
from ..autograd import enable_grad, no_grad
from ..tensor import Tensor
from ..training.checkpoint import load_checkpoint
from .modes import evaluating, frozen_parameters
from .summary import ReceptiveField, summary

ModelSource = nn.Module | str | Path   # a model, or the path of a checkpoint or state dict


def as_model(source: ModelSource) -> nn.Module:
    """A Module as is; a checkpoint path -> its model, weights loaded, in eval mode."""
    if isinstance(source, nn.Module):
        return source
    return load_checkpoint(source).build_model()


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every Conv2d with its dotted name, in definition order."""
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer")
    return layers


def trained_filters(source: ModelSource, layer: str | None = None) -> np.ndarray:
    """The weight (C_out, C_in/groups, KH, KW) of conv layer ``layer`` (default: the first), float64."""
    layers = dict(conv_layers(as_model(source)))
    name = layer if layer is not None else next(iter(layers))
    if name not in layers:
        raise ValueError(f"no conv layer {name!r}; the conv layers are {', '.join(layers)}")
    return layers[name].weight.detach().numpy().astype(np.float64)


def first_layer_filters(model: nn.Module) -> np.ndarray:
    """The first Conv2d's weight, (C_out, C_in/groups, KH, KW), as a NumPy array."""
    return conv_layers(model)[0][1].weight.detach().numpy().copy()


def feature_maps(model: nn.Module, x: Tensor) -> list[tuple[str, np.ndarray]]:
    """Run ``x`` (1, C, H, W) through the model (in eval mode, restored after); each conv layer's output
    (C_out, OH, OW) with its name, caught by forward hooks, in the order the layers ran."""
    maps: list[tuple[str, np.ndarray]] = []
    handles = [layer.register_forward_hook(
        lambda module, args, output, name=name: maps.append((name, output.detach().numpy()[0])))
        for name, layer in conv_layers(model)]
    try:
        with evaluating(model), no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return maps


@dataclass(frozen=True)
class GradCam:
    """Grad-CAM of one image (Selvaraju et al., 2017).

    heatmap        (OH, OW) in [0, 1] at the conv layer's resolution; 1 = most important
    target         the class explained
    probabilities  (num_classes,) softmax of the logits
    layer          name of the conv layer used
    field          that layer's receptive field: heatmap value (p, q) is centred on input
                   pixel field.start + (p, q) * field.jump (None if it could not be traced)
    """

    heatmap: np.ndarray
    target: int
    probabilities: np.ndarray
    layer: str
    field: ReceptiveField | None

    def extent(self, image_size: tuple[int, int]) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) in input pixel coordinates where the heatmap lies, for
        matplotlib's ``imshow(extent=...)``.

        Each heatmap value covers ``jump`` input pixels around its centre. A layer without
        padding sees less than the whole image (LeNet's conv2: centres 4.5 … 22.5 of 0 … 27),
        so stretching the map over the whole image, as is often done, would misplace it.
        Without a field, the map is stretched.
        """
        oh, ow = self.heatmap.shape
        if self.field is None or self.field.whole:
            return (-0.5, image_size[1] - 0.5, image_size[0] - 0.5, -0.5)
        (top, left), (jump_h, jump_w) = self.field.start, self.field.jump
        return (left - jump_w / 2, left + (ow - 0.5) * jump_w,
                top + (oh - 0.5) * jump_h, top - jump_h / 2)


def grad_cam(model: nn.Module, x: Tensor, target: int | None = None,
             layer: str | None = None) -> GradCam:
    """Which pixels of the conv layer's map made the model say ``target``.

    With A (C, OH, OW) the layer's output and y the target's logit, each channel's weight is
    the average gradient alpha_c = mean over (p, q) of dy/dA[c, p, q]; the map is
    ReLU(sum_c alpha_c A[c]) — positive evidence only — scaled to [0, 1]. The gradient is caught
    with ``Tensor.register_hook`` on A during ``y.backward()``. ``target`` None explains the
    predicted class; ``layer`` None uses the last conv layer (the most semantic map that is
    still spatial). Runs in eval mode; the model's modes and its parameters' ``.grad`` are
    left as they were.
    """
    layers = dict(conv_layers(model))
    name = layer if layer is not None else list(layers)[-1]
    if name not in layers:
        raise ValueError(f"grad_cam: no conv layer named {name!r}; conv layers: {', '.join(layers)}")
    caught: dict[str, Tensor] = {}

    def keep_activation(module, args, output):
        caught["activation"] = output
        output.register_hook(lambda grad: caught.__setitem__("gradient", grad))

    # Only the input requires grad: the graph still reaches the layer, and nothing is added
    # to the parameters' .grad.
    with evaluating(model), frozen_parameters(model), enable_grad(), \
            layers[name].register_forward_hook(keep_activation):
        logits = model(x.detach().requires_grad_())
        probabilities = logits.softmax(dim=1).detach().numpy()[0]
        target = int(probabilities.argmax()) if target is None else int(target)
        if not 0 <= target < len(probabilities):
            raise ValueError(f"grad_cam: target class {target} is out of range for "
                             f"{len(probabilities)} classes")
        logits[0, target].backward()
    activation = caught["activation"].detach().numpy()[0]     # (C, OH, OW)
    alpha = caught["gradient"].numpy()[0].mean(axis=(1, 2))   # (C,)
    heatmap = np.maximum(np.tensordot(alpha, activation, axes=1), 0)
    peak = heatmap.max()
    return GradCam(heatmap / peak if peak > 0 else heatmap, target, probabilities, name,
                   layer_field(model, tuple(x.shape[1:]), name))


def layer_field(model: nn.Module, input_size: tuple[int, ...], name: str) -> ReceptiveField | None:
    """The receptive field of the named layer's output (its first call), from :func:`summary`."""
    return next((row.receptive_field for row in summary(model, input_size).rows if row.name == name),
                None)
