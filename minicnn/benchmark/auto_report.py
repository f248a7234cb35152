"""What conv2d's ``auto`` chose in a run, and why: per layer and direction, the candidates' times.

``auto`` times its candidates itself, on the first call of each problem (its warm-up in the
benchmark), and caches the fastest with every candidate's time
(:func:`~minicnn.functional.conv.auto_choices`; its own quick measurement, described in
``functional/conv/auto.py``). This module reads that cache back for the layers a run timed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..functional.conv import auto_choices
from .cases import conv_layer_geometry
from .layers import ConvLayer


@dataclass(frozen=True)
class AutoDecision:
    """auto's choice on one layer, one backend, one direction, and the seconds it chose from."""

    layer: str
    backend: str
    direction: str  # "forward" or "backward"
    gradients: tuple[bool, bool]  # backward: (grad input needed, grad weight needed)
    chosen: str
    seconds: dict[str, float]

    def describe(self) -> str:
        """"... numpy/auto backward (input, weight): direct (direct 1.20, im2col 1.31 ms)"."""
        direction = self.direction
        if direction == "backward":
            needed = [name for name, need in zip(("input", "weight"), self.gradients) if need]
            direction += f" ({', '.join(needed)})"
        times = ", ".join(f"{name} {seconds * 1e3:.3f}"
                          for name, seconds in sorted(self.seconds.items(), key=lambda item: item[1]))
        return f"conv2d {self.layer} {self.backend}/auto {direction}: {self.chosen} ({times} ms)"


def auto_decisions(layers: Sequence[ConvLayer], backends: Sequence[str]) -> list[AutoDecision]:
    """auto's cached choices for ``layers`` on ``backends``, by layer, then backend, forward first."""
    decisions = []
    for layer in layers:
        input_shape = (layer.n, layer.c_in, layer.h, layer.w)
        weight_shape = (layer.c_out, layer.c_in, layer.k, layer.k)
        geometry = conv_layer_geometry(layer)
        for key, choice in auto_choices().items():
            if (key.backend in backends and key.input_shape == input_shape
                    and key.weight_shape == weight_shape and key.geometry == geometry):
                decisions.append(AutoDecision(str(layer), key.backend, key.direction, key.gradients,
                                              choice.algorithm, dict(choice.seconds)))
    order = {backend: i for i, backend in enumerate(backends)}
    layer_order = {str(layer): i for i, layer in enumerate(layers)}
    return sorted(decisions, key=lambda d: (layer_order[d.layer], order[d.backend], d.direction != "forward"))
