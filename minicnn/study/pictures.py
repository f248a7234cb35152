"""Where the visual tools get their images: a PNG, an MNIST digit if cached, or a drawn one.

A :class:`Picture` is a grayscale float32 (H, W) array in [0, 1] plus a note of where it came
from (for plot titles). Model inputs are MNIST-like: 28x28, white strokes on black,
normalised with the training mean and std (:func:`model_input`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from ..training.data import MNIST_MEAN, MNIST_STD
from ..training.images import load_digit
from ..vision import datasets

SIDE = 28  # MNIST digits are 28x28


@dataclass(frozen=True)
class Picture:
    pixels: np.ndarray      # float32 (H, W) in [0, 1]
    source: str             # e.g. "MNIST test digit 0 (label 7)"


def synthetic_digit() -> Picture:
    """A drawn "0" on 28x28: a ring (edges in every direction, for the Sobel kernels to tell
    apart) with a soft rim, as a pen stroke has."""
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    # An upright ellipse centred in the frame, stroke about 3 pixels wide.
    radius = np.sqrt(((rows - 13.5) / 9.0) ** 2 + ((cols - 13.5) / 6.5) ** 2)
    pixels = np.clip(1.0 - np.abs(radius - 1.0) * 5.0, 0.0, 1.0)
    return Picture(pixels.astype(np.float32), "a drawn 0 (MNIST is not downloaded)")


def cached_mnist_digit(index: int = 0, root: str | Path | None = None) -> Picture | None:
    """Test digit ``index`` when MNIST is already on disk (never downloads), else None."""
    kwargs = {} if root is None else {"root": root}
    try:
        test_set = datasets.MNIST(train=False, download=False, **kwargs)
    except RuntimeError:  # not downloaded (or a damaged cache): fall back, do not fetch
        return None
    image, label = test_set[index]
    pixels = np.asarray(image, dtype=np.float32) / 255
    return Picture(pixels, f"MNIST test digit {index} (label {label})")


def default_digit(index: int = 0, root: str | Path | None = None) -> Picture:
    """An MNIST test digit if the data set is cached, else :func:`synthetic_digit`."""
    return cached_mnist_digit(index, root) or synthetic_digit()


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('reading images needs Pillow: pip install "minicnn[train]"') from None
    return Image


def read_picture(path: str | Path) -> Picture:
    """Any image file as grayscale at its own size (for the classic-kernel demo)."""
    image_module = _pillow()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with image_module.open(path) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255
    return Picture(pixels, path.name)


def read_digit(path: str | Path) -> Picture:
    """An image file as an MNIST-like digit: 28x28, white on black (as ``minicnn predict`` sees it)."""
    normalised = load_digit(path)[0]
    return Picture(normalised * np.float32(MNIST_STD) + np.float32(MNIST_MEAN), Path(path).name)


def choose_digit(image: str | Path | None, index: int = 0, root: str | Path | None = None) -> Picture:
    """The digit a model tool works on: ``image`` if given, else :func:`default_digit`."""
    return read_digit(image) if image is not None else default_digit(index, root)


def model_input(picture: Picture) -> Tensor:
    """A 28x28 picture -> float32 (1, 1, 28, 28), normalised as the training data is."""
    if picture.pixels.shape != (SIDE, SIDE):
        raise ValueError(f"model input: expected a {SIDE}x{SIDE} digit, got {picture.pixels.shape}")
    normalised = (picture.pixels - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)
    return Tensor(normalised.astype(np.float32)[None, None])
