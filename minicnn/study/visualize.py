"""Pictures of what convolution does and what a trained CNN has learned, as PNG files.

    plot_kernels        classic hand-made kernels (edges, Sobel, sharpen, blurs) on an image
    plot_filters        a trained model's first-layer filters
    plot_feature_maps   every conv layer's output for one digit
    plot_grad_cam       where a trained model looked to classify a digit (Grad-CAM)

Each writes a PNG of exactly ``size = (width, height)`` pixels and returns its path. The
numbers come from :mod:`.kernels` and :mod:`.features`; this module only draws them.
matplotlib is an optional dependency (the ``train`` extra). Figures are built with
``matplotlib.figure.Figure`` directly, not pyplot, so no global backend or figure state is
touched and nothing needs a display.
"""
from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Iterator

import numpy as np

from .features import ModelSource, as_model, feature_maps, first_layer_filters, grad_cam
from .grids import format_grid
from .kernels import CLASSIC_KERNELS, apply_kernels
from .pictures import choose_digit, default_digit, model_input, read_picture

DPI = 100  # figure inches * DPI = pixels, so a figure of size/DPI inches is `size` pixels
BASE_FONT_SIZE = 10  # points, at the default sizes below
Size = tuple[int, int]
# Default (width, height) in pixels of each picture.
KERNELS_SIZE: Size = (1200, 650)
FILTERS_SIZE: Size = (800, 600)
FEATURE_MAPS_SIZE: Size = (1200, 500)
GRAD_CAM_SIZE: Size = (1000, 380)


def _matplotlib():
    """(Figure, rc_context) from matplotlib, or an ImportError saying how to install it."""
    try:
        from matplotlib import rc_context
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            'the minicnn visual tools need matplotlib: pip install "minicnn[train]"') from None
    return Figure, rc_context


@contextlib.contextmanager
def _drawing(path: str | Path, size: Size, designed_for: Size) -> Iterator:
    """``with _drawing(path, size, default size) as figure:`` draw, then it is saved as PNG.

    The figure is ``size`` (width, height) pixels. Text is sized relative to the base font
    ("small", ...), and the base font shrinks with the figure below the size the layout was
    designed for, so that a small picture still has room for its images.
    """
    figure_class, rc_context = _matplotlib()  # first: a missing matplotlib is the first problem
    width, height = size
    if not (isinstance(width, int) and isinstance(height, int) and width >= 50 and height >= 50):
        raise ValueError(f"plot size must be two ints >= 50 (width, height in pixels), got {size}")
    scale = min(1.0, width / designed_for[0], height / designed_for[1])
    with rc_context({"font.size": BASE_FONT_SIZE * scale}):
        figure = figure_class(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
        yield figure
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=DPI, format="png")


def _grid(figure, count: int, columns: int):
    """``count`` axes in rows of ``columns``, without ticks; spare cells hidden."""
    rows = math.ceil(count / columns)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    return axes[:count]


def _symmetric_limit(values: np.ndarray) -> float:
    """Colour limit for signed data: zero sits in the middle of a diverging colormap."""
    return float(np.abs(values).max()) or 1.0


# --------------------------------------------------------------------------------- plots
def plot_kernels(path: str | Path, image: str | Path | None = None, size: Size = KERNELS_SIZE,
                 index: int = 0, data_root: str | Path | None = None) -> Path:
    """The image and its convolution with each classic kernel, the kernel printed below.

    ``image``: any picture file (grayscale, own size); None: MNIST test digit ``index`` if
    the data set is cached under ``data_root``, else a drawn digit. Kernels whose weights
    sum to 0 (edge detectors) give signed responses, drawn red (+) / blue (-) around white 0.
    """
    picture = read_picture(image) if image is not None else default_digit(index, data_root)
    filtered = apply_kernels(picture.pixels)
    with _drawing(path, size, KERNELS_SIZE) as figure:
        axes = _grid(figure, 1 + len(filtered), columns=math.ceil((1 + len(filtered)) / 2))
        axes[0].imshow(picture.pixels, cmap="gray")
        axes[0].set_title("input")
        figure.suptitle(f"classic 3x3 kernels on {picture.source}", fontsize="large")
        for ax, (name, result) in zip(axes[1:], filtered.items()):
            kernel = CLASSIC_KERNELS[name]
            if abs(kernel.sum()) < 1e-6:
                limit = _symmetric_limit(result)
                ax.imshow(result, cmap="RdBu_r", vmin=-limit, vmax=limit)
            else:
                ax.imshow(result, cmap="gray")
            ax.set_title(name)
            ax.text(0.5, -0.02, "\n".join(format_grid(kernel)), transform=ax.transAxes, ha="center",
                    va="top", family="monospace", fontsize="x-small")
    return Path(path)


def plot_filters(model: ModelSource, path: str | Path, size: Size = FILTERS_SIZE) -> Path:
    """Every (output, input channel) slice of the first conv layer's weight, one colour scale.

    ``model``: a Module or the path of a checkpoint written by ``minicnn train``.
    """
    weights = first_layer_filters(as_model(model))                    # (C_out, C_in, KH, KW)
    c_out, c_in = weights.shape[:2]
    slices = weights.reshape(c_out * c_in, *weights.shape[2:])
    limit = _symmetric_limit(weights)
    with _drawing(path, size, FILTERS_SIZE) as figure:
        axes = _grid(figure, len(slices), columns=math.ceil(math.sqrt(len(slices))))
        for k, (ax, kernel) in enumerate(zip(axes, slices)):
            image = ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
            o, c = divmod(k, c_in)
            ax.set_title(f"filter {o}" if c_in == 1 else f"filter {o}, ch {c}", fontsize="small")
        figure.colorbar(image, ax=list(axes), shrink=0.8, label="weight")
        figure.suptitle(f"first-layer filters {tuple(weights.shape)}: red +, blue -", fontsize="large")
    return Path(path)


def plot_feature_maps(model: ModelSource, path: str | Path, image: str | Path | None = None,
                      size: Size = FEATURE_MAPS_SIZE, max_channels: int = 16, index: int = 0,
                      data_root: str | Path | None = None) -> Path:
    """The input digit, then one row per conv layer with (up to ``max_channels`` of) its maps.

    ``image``: a picture file (resized to 28x28, light backgrounds inverted, as ``minicnn
    predict`` does); None: see :func:`plot_kernels`.
    """
    picture = choose_digit(image, index, data_root)
    maps = feature_maps(as_model(model), model_input(picture))
    columns = max(min(len(m), max_channels) for _, m in maps)
    with _drawing(path, size, FEATURE_MAPS_SIZE) as figure:
        axes = figure.subplots(1 + len(maps), columns, squeeze=False)
        for ax in axes.ravel():
            ax.set_axis_off()
        axes[0, 0].imshow(picture.pixels, cmap="gray")
        axes[0, 0].set_title("input", fontsize="x-small")
        figure.suptitle(f"conv feature maps of {picture.source}", fontsize="large")
        for row, (name, layer_maps) in zip(axes[1:], maps):
            shown = min(len(layer_maps), max_channels)
            for c in range(shown):
                row[c].imshow(layer_maps[c], cmap="viridis")
                row[c].set_title(f"{name}[{c}]" if c == 0 else f"[{c}]", fontsize="x-small")
            if shown < len(layer_maps):
                row[shown - 1].set_title(f"[{shown - 1}] of {len(layer_maps)}", fontsize="x-small")
    return Path(path)


def plot_grad_cam(model: ModelSource, path: str | Path, image: str | Path | None = None,
                  target: int | None = None, layer: str | None = None, size: Size = GRAD_CAM_SIZE,
                  index: int = 0, data_root: str | Path | None = None) -> Path:
    """The digit, the Grad-CAM heatmap, and the heatmap laid over the digit where it belongs.

    ``target`` None explains the predicted class; ``layer`` None uses the last conv layer.
    """
    picture = choose_digit(image, index, data_root)
    cam = grad_cam(as_model(model), model_input(picture), target, layer)
    height, width = picture.pixels.shape
    with _drawing(path, size, GRAD_CAM_SIZE) as figure:
        digit_ax, heat_ax, overlay_ax = _grid(figure, 3, columns=3)
        digit_ax.imshow(picture.pixels, cmap="gray")
        digit_ax.set_title(f"input: {picture.source}", fontsize="small")
        heat_ax.imshow(cam.heatmap, cmap="jet", vmin=0, vmax=1)
        heat_ax.set_title(f"Grad-CAM at {cam.layer} {cam.heatmap.shape}", fontsize="small")
        overlay_ax.imshow(picture.pixels, cmap="gray")
        overlay_ax.imshow(cam.heatmap, cmap="jet", alpha=0.45, vmin=0, vmax=1,
                          interpolation="bilinear", extent=cam.extent((height, width)))
        overlay_ax.set_xlim(-0.5, width - 0.5)   # the heatmap covers only part of the image
        overlay_ax.set_ylim(height - 0.5, -0.5)
        predicted = int(cam.probabilities.argmax())
        overlay_ax.set_title(f"class {cam.target} (p = {cam.probabilities[cam.target]:.3f}); "
                             f"predicted {predicted}", fontsize="small")
    return Path(path)
