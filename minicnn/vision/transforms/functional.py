"""Deterministic image operations with torchvision.transforms.functional's names and arguments.

Three kinds of image are accepted, in their usual layouts:

* a NumPy array (H, W) or (H, W, C) — the stand-in for a PIL image (what the datasets return),
* a PIL image, when Pillow is installed,
* a minicnn Tensor (..., C, H, W) or (H, W) — what ToTensor returns,

and every operation returns the same kind, layout and dtype it was given. Internally each
image is viewed as a stack of planes (L, C, H, W). These are data-preparation steps: they
act on the tensor's values and are not recorded by autograd.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

import numpy as np

from ...backends import array_module
from ...dtypes import get_default_dtype
from ...tensor import Tensor
from . import warp
from .warp import InterpolationMode

_IMAGE_KINDS = "a NumPy array (H, W) or (H, W, C), a PIL image or a minicnn Tensor (..., C, H, W)"


def _is_pil(img: Any) -> bool:
    return type(img).__module__.startswith("PIL.")  # without importing Pillow when it is not used


def _as_planes(img: Any, op: str) -> tuple[Any, Callable[[Any], Any]]:
    """View ``img`` as an array (L, C, H, W); also return how to turn such an array back into ``img``'s kind."""
    if isinstance(img, Tensor):
        array = img.array
        if array.ndim < 2:
            raise ValueError(f"{op}: expected a tensor image (..., C, H, W) or (H, W), got shape {tuple(array.shape)}")
        leading = array.shape[:-2]
        channels = array.shape[-3] if array.ndim >= 3 else 1
        return array.reshape((-1, channels) + array.shape[-2:]), lambda out: Tensor(out.reshape(leading + out.shape[-2:]))
    if _is_pil(img):
        from PIL import Image

        planes, to_array = _as_planes(np.array(img), op)
        return planes, lambda out: Image.fromarray(to_array(out))
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            return img[None, None], lambda out: out[0, 0]
        if img.ndim == 3:
            return img.transpose(2, 0, 1)[None], lambda out: np.ascontiguousarray(out[0].transpose(1, 2, 0))
        raise ValueError(f"{op}: expected a NumPy image (H, W) or (H, W, C), got shape {img.shape}")
    raise TypeError(f"{op}: expected {_IMAGE_KINDS}, got {type(img).__name__}")


def get_dimensions(img: Any) -> list[int]:
    """[channels, height, width] of any accepted image."""
    planes, _ = _as_planes(img, "get_dimensions")
    return list(planes.shape[1:])


def _require_tensor(img: Any, op: str) -> Tensor:
    if not isinstance(img, Tensor):
        raise TypeError(f"{op}: expected a minicnn Tensor (..., C, H, W) (apply ToTensor first), got {type(img).__name__}")
    if img.ndim < 3:
        raise ValueError(f"{op}: expected a tensor image of shape (..., C, H, W), got shape {tuple(img.shape)}")
    return img


# ---------------------------------------------------------------------------- conversion
def _pixels_to_float(chw: np.ndarray) -> np.ndarray:
    """uint8 pixels become the default float dtype in [0, 1] (x / 255); other dtypes are kept as they are."""
    if chw.dtype == np.uint8:
        return chw.astype(get_default_dtype(), order="C") / 255
    return np.ascontiguousarray(chw)


def to_tensor(pic: Any) -> Tensor:
    """A PIL image or NumPy array (H, W) / (H, W, C) -> Tensor (C, H, W); uint8 is scaled to [0, 1]."""
    if _is_pil(pic):
        array = np.array(pic)
        if pic.mode == "1":  # bilevel images hold booleans; torchvision maps them to 0 / 255
            array = array.astype(np.uint8) * 255
    elif isinstance(pic, np.ndarray):
        array = pic
    else:
        raise TypeError(f"to_tensor: expected a PIL image or a NumPy array (H, W) or (H, W, C), got {type(pic).__name__}")
    if array.ndim not in (2, 3):
        raise ValueError(f"to_tensor: expected an image of shape (H, W) or (H, W, C), got shape {array.shape}")
    hwc = array[:, :, None] if array.ndim == 2 else array
    return Tensor(_pixels_to_float(hwc.transpose(2, 0, 1)))


def to_tensor_batch(images: np.ndarray) -> Tensor:
    """``to_tensor`` on a whole batch (N, H, W) or (N, H, W, C) -> Tensor (N, C, H, W), same arithmetic."""
    if images.ndim not in (3, 4):
        raise ValueError(f"to_tensor_batch: expected images (N, H, W) or (N, H, W, C), got shape {images.shape}")
    nhwc = images[..., None] if images.ndim == 3 else images
    return Tensor(_pixels_to_float(nhwc.transpose(0, 3, 1, 2)))


def _per_channel(values: Any, channels: int, dtype, xp, what: str, op: str):
    """A scalar or one value per channel, as an array (C, 1, 1) that broadcasts over (..., C, H, W)."""
    array = xp.asarray(values, dtype=dtype).reshape(-1)
    if array.size not in (1, channels):
        raise ValueError(f"{op}: got {array.size} {what} values for an image with {channels} channels")
    return array.reshape(-1, 1, 1)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """(tensor - mean[c]) / std[c] for each channel c of a float tensor (..., C, H, W)."""
    tensor = _require_tensor(tensor, "normalize")
    if tensor.dtype.kind != "f":
        raise TypeError(f"normalize: expected a floating-point tensor, got {tensor.dtype}")
    xp = array_module(tensor.array)
    channels = tensor.shape[-3]
    mean_c = _per_channel(mean, channels, tensor.dtype, xp, "mean", "normalize")
    std_c = _per_channel(std, channels, tensor.dtype, xp, "std", "normalize")
    if bool((std_c == 0).any()):
        raise ValueError(f"normalize: std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero")
    if inplace:
        tensor.array -= mean_c
        tensor.array /= std_c
        return tensor
    return (tensor - mean_c) / std_c


# ---------------------------------------------------------------------------- pixel moves
def hflip(img: Any) -> Any:
    """Mirror left-right (reverse the width axis)."""
    planes, back = _as_planes(img, "hflip")
    return back(planes[..., ::-1].copy())


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height`` x ``width`` box whose top-left pixel is (top, left); it must lie inside the image."""
    planes, back = _as_planes(img, "crop")
    image_h, image_w = planes.shape[-2:]
    if top < 0 or left < 0 or height < 0 or width < 0 or top + height > image_h or left + width > image_w:
        raise ValueError(
            f"crop: the box top={top}, left={left}, height={height}, width={width} does not fit "
            f"in an image of size {(image_h, image_w)}"
        )
    return back(planes[..., top : top + height, left : left + width].copy())


PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def padding_sides(padding: int | Sequence[int], op: str) -> tuple[int, int, int, int]:
    """torchvision's padding forms -> (left, top, right, bottom): n, (left/right, top/bottom), or all four."""
    sides = [padding] if isinstance(padding, numbers.Number) else list(padding)
    if len(sides) not in (1, 2, 4) or not all(isinstance(s, numbers.Integral) and s >= 0 for s in sides):
        raise ValueError(f"{op}: padding must be a non-negative int or a sequence of 2 or 4 of them, got {padding!r}")
    if len(sides) == 1:
        sides = sides * 4
    elif len(sides) == 2:
        sides = sides * 2
    return tuple(int(s) for s in sides)


def pad(img: Any, padding: int | Sequence[int], fill: float = 0, padding_mode: str = "constant") -> Any:
    """Pad the borders: ``padding`` as in torchvision; ``padding_mode`` constant (with ``fill``), edge, reflect or symmetric."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"pad: padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
    left, top, right, bottom = padding_sides(padding, "pad")
    planes, back = _as_planes(img, "pad")
    xp = array_module(planes)
    widths = ((0, 0), (0, 0), (top, bottom), (left, right))
    if padding_mode == "constant":
        return back(xp.pad(planes, widths, mode="constant", constant_values=fill))
    return back(xp.pad(planes, widths, mode=padding_mode))


def erase(img: Tensor, i: int, j: int, h: int, w: int, v: Any, inplace: bool = False) -> Tensor:
    """Set the box of ``h`` x ``w`` pixels at (i, j) of a tensor (..., C, H, W) to ``v`` (scalar, (C, 1, 1) or (C, h, w))."""
    img = _require_tensor(img, "erase")
    array = img.array if inplace else img.array.copy()
    array[..., i : i + h, j : j + w] = v
    return img if inplace else Tensor(array)


# ---------------------------------------------------------------------------- resampling
def _fill_per_channel(fill: Any, channels: int, op: str) -> list[float]:
    if fill is None:
        return [0.0] * channels
    values = [float(fill)] if isinstance(fill, numbers.Number) else [float(f) for f in fill]
    if len(values) == 1:
        return values * channels
    if len(values) != channels:
        raise ValueError(f"{op}: fill has {len(values)} values for an image with {channels} channels")
    return values


def _centred(center: Sequence[float] | None, width: int, height: int, op: str) -> tuple[float, float]:
    """A user's centre (x, y) in pixel coordinates (origin at the top-left corner) -> relative to the image centre."""
    if center is None:
        return 0.0, 0.0
    if len(center) != 2:
        raise ValueError(f"{op}: center must be a sequence (x, y), got {center!r}")
    return float(center[0]) - width * 0.5, float(center[1]) - height * 0.5


def rotate(
    img: Any,
    angle: float,
    interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
    expand: bool = False,
    center: Sequence[float] | None = None,
    fill: float | Sequence[float] | None = None,
) -> Any:
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image centre).

    ``expand=True`` enlarges the output to hold the whole rotated image.
    """
    mode = warp.interpolation_mode(interpolation, "rotate")
    planes, back = _as_planes(img, "rotate")
    height, width = planes.shape[-2:]
    # The matrix convention is affine's (clockwise); a counter-clockwise turn is its negative.
    inverse = warp.inverse_affine_matrix(_centred(center, width, height, "rotate"), -angle, (0.0, 0.0), 1.0, (0.0, 0.0))
    out_w, out_h = warp.expanded_size(inverse, width, height) if expand else (width, height)
    fill = _fill_per_channel(fill, planes.shape[1], "rotate")
    return back(warp.warp(planes, inverse, (out_h, out_w), mode, fill))


def affine(
    img: Any,
    angle: float,
    translate: Sequence[float],
    scale: float,
    shear: float | Sequence[float],
    interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
    fill: float | Sequence[float] | None = None,
    center: Sequence[float] | None = None,
) -> Any:
    """Rotate by ``angle`` degrees *clockwise* (torchvision's affine convention), scale, shear by
    ``shear`` = shear_x or (shear_x, shear_y) degrees, all about ``center``, then move by
    ``translate`` = (dx, dy) pixels (right, down). The output keeps the input's size.
    """
    mode = warp.interpolation_mode(interpolation, "affine")
    if len(translate) != 2:
        raise ValueError(f"affine: translate must be a sequence (dx, dy), got {translate!r}")
    if scale <= 0:
        raise ValueError(f"affine: scale must be positive, got {scale}")
    shear = [float(shear), 0.0] if isinstance(shear, numbers.Number) else [float(s) for s in shear]
    if len(shear) == 1:
        shear = shear * 2
    if len(shear) != 2:
        raise ValueError(f"affine: shear must be a number or a sequence of 1 or 2 numbers, got {shear!r}")
    planes, back = _as_planes(img, "affine")
    height, width = planes.shape[-2:]
    inverse = warp.inverse_affine_matrix(_centred(center, width, height, "affine"), angle, translate, scale, shear)
    fill = _fill_per_channel(fill, planes.shape[1], "affine")
    return back(warp.warp(planes, inverse, (height, width), mode, fill))
