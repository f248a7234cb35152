"""Turn an arbitrary digit picture (PNG, JPEG, ...) into an MNIST-like input.

MNIST digits are white strokes on a black background, 28x28, normalised with the training
mean and std. A photo or a drawing is usually dark ink on white paper, so a light background
is inverted. Pillow is optional; predicting from image files needs it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import MNIST_MEAN, MNIST_STD

SIDE = 28


def _pillow_image():
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError("reading images needs Pillow: pip install pillow") from None
    return Image


def has_light_background(pixels: np.ndarray) -> bool:
    """Judge the background by the 1-pixel border, where a centred digit rarely reaches."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])
    return float(border.mean()) > 0.5


def load_digit(path: str | Path) -> np.ndarray:
    """Read ``path`` -> float32 (1, 28, 28): grayscale, resized, white-on-black, normalised.

    Raises FileNotFoundError for a missing file and ValueError for a file Pillow cannot decode.
    """
    image_module = _pillow_image()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with image_module.open(path) as image:
            gray = image.convert("L").resize((SIDE, SIDE), image_module.Resampling.BILINEAR)
    except OSError as exc:  # includes UnidentifiedImageError and truncated files
        raise ValueError(f"cannot read image {path}: {exc}") from exc
    pixels = np.asarray(gray, dtype=np.float32) / np.float32(255)
    if has_light_background(pixels):
        pixels = 1 - pixels
    return ((pixels - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD))[None]
