"""``minicnn explain model``: one self-contained HTML page of a model reading one digit.

The page shows every layer's output in the order the layers ran (with its shape), the
predicted class and the probabilities, and — when the reader clicks a pixel of a conv layer's
output — that pixel's receptive field outlined on the activation the layer read and the dot
product that made it, written out with the real numbers (window values times weights, plus
the bias, next to minicnn's own output value).

Self-contained means it opens from disk with no server and no network: the numbers travel as
inline JSON (float32 values as their shortest exact decimals) and the inline script in
``templates/model_page.html`` draws them on canvases; the page has no external URL at all.
The numbers come from :func:`.model_trace.trace_model`.
"""
from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

import numpy as np

from .. import nn
from .model_trace import ConvRecord, ModelTrace, load_model, trace_model
from .pictures import choose_digit, model_input

ModelSource = nn.Module | str | Path   # a model, or the path of a checkpoint


def _numbers(array: np.ndarray) -> list[float]:
    """Flat values for JSON. float32 values go as the shortest decimal that reads back as the
    same float32 (``str`` of a NumPy float32) — short, and exact once the page rounds it
    back with ``Math.fround``; float64 values go as Python floats (exact already)."""
    flat = array.ravel()
    if flat.dtype == np.float32:
        return [float(str(v)) for v in flat]
    return flat.astype(np.float64).tolist()


def _tensor(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "data": _numbers(array)}


def _conv(conv: ConvRecord) -> dict:
    return {
        "source": conv.source,
        # The page takes the input from the layer (or the model input) it came from; only an
        # input computed outside a module has to travel with the conv.
        "input": _tensor(conv.input) if conv.source is None else None,
        "weight": _tensor(conv.weight),
        "bias": None if conv.bias is None else _tensor(conv.bias),
        "stride": list(conv.stride), "padding": list(conv.padding),
        "dilation": list(conv.dilation), "groups": conv.groups,
    }


def page_data(trace: ModelTrace, digit: str) -> dict:
    """What the page's script reads: the input, each layer, the probabilities."""
    return {
        "dtype": str(trace.input.dtype),
        "digit": digit,
        "input": _tensor(trace.input),
        "layers": [{"name": layer.name, "kind": layer.kind, "output": _tensor(layer.output),
                    "conv": None if layer.conv is None else _conv(layer.conv)}
                   for layer in trace.layers],
        "probabilities": trace.probabilities.astype(np.float64).tolist(),
        "predicted": trace.predicted,
    }


def model_page(trace: ModelTrace, title: str, source: str, digit: str) -> str:
    """The page as one HTML string. ``title`` and ``source`` are shown at the top, ``digit``
    (where the input came from) above the input."""
    template = resources.files(__package__).joinpath("templates/model_page.html").read_text("utf-8")
    # "<" escaped in the JSON, so no text in it can close the <script> element it sits in.
    data = json.dumps(page_data(trace, digit), separators=(",", ":")).replace("<", "\\u003c")
    return (template.replace("__TITLE__", html.escape(title))
            .replace("__SOURCE__", html.escape(source))
            .replace("__MODEL_DATA__", data))


def write_model_page(model: ModelSource, path: str | Path, image: str | Path | None = None,
                     model_name: str | None = None, index: int = 0,
                     data_root: str | Path | None = None) -> Path:
    """Trace ``model`` on one digit and write the page to ``path``; returns it.

    ``model``: a Module, or a checkpoint path read by :func:`.model_trace.load_model`
    (``model_name`` names the architecture when the file does not). ``image``: a digit picture
    (28x28, light backgrounds inverted, as ``minicnn predict`` reads it); None: MNIST test
    digit ``index`` if MNIST is on disk under ``data_root``, else a drawn digit.
    """
    if isinstance(model, nn.Module):
        source = f"a {type(model).__name__} given in Python"
    else:
        source = f"checkpoint {Path(model).name}"
        model = load_model(model, model_name)
    name = model_name or type(model).__name__
    picture = choose_digit(image, index, data_root)
    trace = trace_model(model, model_input(picture))
    page = model_page(trace, f"minicnn explain model: {name} reads {picture.source}",
                      f"{source}; {len(trace.layers)} layers in the order they ran; predicted "
                      f"class {trace.predicted}", picture.source)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
