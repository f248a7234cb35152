"""Affine resampling of images: the geometry of torchvision's rotate/affine, computed by SciPy or Pillow.

Coordinates. Like torchvision, the matrix of a transform is written in (x right, y down)
coordinates whose origin is the image centre, and it maps each *output* pixel to the
point of the *input* it samples (the inverse map: every output pixel gets exactly one
value). Pixel (row r, column q) of an H x W image sits at ``x = q - (W - 1) / 2``,
``y = r - (H - 1) / 2``; so a rotation turns the image about its geometric centre, and a
90-degree turn of a square image moves every pixel onto another pixel exactly.

Sampling outside the input gives the fill value; bilinear sampling blends with it across
the border, as torch's ``grid_sample`` blends with its zero padding.
"""
from __future__ import annotations

import enum
import math
from typing import Sequence

import numpy as np


class InterpolationMode(enum.Enum):
    """How a sample between pixel centres is computed (torchvision's names; these two are supported)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"


_SPLINE_ORDER = {InterpolationMode.NEAREST: 0, InterpolationMode.BILINEAR: 1}


def interpolation_mode(value: InterpolationMode | str, owner: str) -> InterpolationMode:
    """Accept an InterpolationMode or its name ('nearest', 'bilinear')."""
    try:
        return InterpolationMode(value.value if isinstance(value, enum.Enum) else str(value).lower())
    except ValueError:
        supported = ", ".join(m.value for m in InterpolationMode)
        raise ValueError(f"{owner}: interpolation must be one of {supported}, got {value!r}") from None


def inverse_affine_matrix(
    center: Sequence[float], angle: float, translate: Sequence[float], scale: float, shear: Sequence[float]
) -> np.ndarray:
    """The (2, 3) matrix [A | t] with ``input = A @ output + t``, in centred (x, y) coordinates.

    The forward transform (torchvision's convention) is: move ``center`` to the origin,
    rotate by ``angle`` degrees *clockwise* on screen (y points down) combined with scale
    and the shears ``(shear_x, shear_y)`` in degrees, move back, then translate by
    ``translate`` pixels. This returns its inverse.
    """
    rot, shear_x, shear_y = (math.radians(v) for v in (angle, *shear))
    # The rotation-shear matrix R(angle) @ ShearY(shear_y) @ ShearX(shear_x), without scale;
    # its determinant is 1, so its inverse is the adjugate [[d, -b], [-c, a]].
    a = math.cos(rot - shear_y) / math.cos(shear_y)
    b = -math.cos(rot - shear_y) * math.tan(shear_x) / math.cos(shear_y) - math.sin(rot)
    c = math.sin(rot - shear_y) / math.cos(shear_y)
    d = -math.sin(rot - shear_y) * math.tan(shear_x) / math.cos(shear_y) + math.cos(rot)
    linear = np.array([[d, -b], [-c, a]]) / scale
    center = np.asarray(center, dtype=np.float64)
    # output = center + translate + forward @ (input - center)
    #   =>  input = linear @ (output - center - translate) + center
    offset = center - linear @ (center + np.asarray(translate, dtype=np.float64))
    return np.column_stack([linear, offset])


def expanded_size(inverse: np.ndarray, width: int, height: int) -> tuple[int, int]:
    """(width, height) of the output that holds the whole transformed image (rotate(expand=True)).

    As torchvision does: push the four image corners through the matrix, take their bounding
    box in corner-origin coordinates, and round it outwards after truncating to 1e-4 (so a
    cosine of 6e-17 does not add a pixel).
    """
    corners = np.array([[-0.5 * width, -0.5 * height, 1.0], [-0.5 * width, 0.5 * height, 1.0],
                        [0.5 * width, 0.5 * height, 1.0], [0.5 * width, -0.5 * height, 1.0]])
    moved = corners @ inverse.T + [0.5 * width, 0.5 * height]  # back to corner-origin coordinates, as PIL
    tol = 1e-4
    high = np.ceil(np.trunc(moved.max(axis=0) / tol) * tol)
    low = np.floor(np.trunc(moved.min(axis=0) / tol) * tol)
    size = high - low
    return int(size[0]), int(size[1])


def _index_space_map(inverse: np.ndarray, in_hw: tuple[int, int], out_hw: tuple[int, int]):
    """The same map between pixel *indices*: (A, b) with ``input_xy = A @ output_xy + b``.

    input index = centred input + (W_in - 1)/2, output index = centred output + (W_out - 1)/2,
    so b = t + c_in - A @ c_out with c = ((W - 1)/2, (H - 1)/2).
    """
    linear, offset = inverse[:, :2], inverse[:, 2]
    c_in = (np.array(in_hw[::-1], dtype=np.float64) - 1) / 2
    c_out = (np.array(out_hw[::-1], dtype=np.float64) - 1) / 2
    return linear, offset + c_in - linear @ c_out


def _sample_scipy(ndimage, plane, linear, offset, out_hw, order, fill):
    # SciPy indexes (row, col) = (y, x): reverse both axes of the (x, y) map.
    return ndimage.affine_transform(
        plane, linear[::-1, ::-1], offset=offset[::-1], output_shape=out_hw,
        order=order, mode="grid-constant", cval=fill, prefilter=False,
    )


def _sample_pillow(image_module, plane, linear, offset, out_hw, order, fill):
    # Pillow puts pixel centres at index + 0.5; its AFFINE data (a, b, c, d, e, f) maps
    # output (x, y) to input (a x + b y + c, d x + e y + f) in those coordinates.
    shifted = offset + 0.5 - linear @ np.array([0.5, 0.5])
    data = (linear[0, 0], linear[0, 1], shifted[0], linear[1, 0], linear[1, 1], shifted[1])
    resample = image_module.Resampling.NEAREST if order == 0 else image_module.Resampling.BILINEAR
    source = image_module.fromarray(np.ascontiguousarray(plane, dtype=np.float32))
    result = source.transform(out_hw[::-1], image_module.Transform.AFFINE, data, resample=resample, fillcolor=float(fill))
    return np.asarray(result)


def _sampler():
    """SciPy's affine_transform if SciPy is installed, else Pillow's Image.transform."""
    try:
        from scipy import ndimage

        return lambda *args: _sample_scipy(ndimage, *args)
    except ImportError:
        pass
    try:
        from PIL import Image

        return lambda *args: _sample_pillow(Image, *args)
    except ImportError:
        raise ImportError(
            "rotate/affine need SciPy or Pillow to resample images; install one: pip install scipy"
        ) from None


def warp(
    planes: np.ndarray,
    inverse: np.ndarray,
    out_hw: tuple[int, int],
    interpolation: InterpolationMode,
    fill: Sequence[float],
) -> np.ndarray:
    """Resample images (L, C, H, W) through ``inverse`` into (L, C, out_h, out_w), same dtype.

    ``fill`` has one value per channel. Integer images are computed in float32 and rounded
    back (clipped to the dtype's range); float64 stays float64 with SciPy (Pillow works in float32).
    """
    if not isinstance(planes, np.ndarray):
        raise TypeError("rotate/affine resample on the CPU: apply them before moving the data to 'cuda'")
    sample = _sampler()
    work_dtype = np.float64 if planes.dtype == np.float64 else np.float32
    linear, offset = _index_space_map(inverse, planes.shape[-2:], out_hw)
    order = _SPLINE_ORDER[interpolation]
    out = np.empty(planes.shape[:2] + tuple(out_hw), dtype=work_dtype)
    for image in range(planes.shape[0]):
        for channel in range(planes.shape[1]):
            source = planes[image, channel].astype(work_dtype)
            out[image, channel] = sample(source, linear, offset, tuple(out_hw), order, fill[channel])
    if planes.dtype.kind in "iu":
        limits = np.iinfo(planes.dtype)
        return np.clip(np.rint(out), limits.min, limits.max).astype(planes.dtype)
    return out.astype(planes.dtype, copy=False)
