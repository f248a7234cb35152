"""Transform classes with torchvision's names, arguments and defaults.

Each random transform draws its parameters (in torchvision's order) from
``minicnn.random.default_generator()``, so ``minicnn.manual_seed(s)`` reproduces an
augmentation exactly; the image work itself is done by :mod:`.functional`.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from ...random import default_generator
from ...tensor import Tensor
from . import functional as F
from .warp import InterpolationMode, interpolation_mode


def _angle_range(value: float | Sequence[float], name: str, owner: str, sizes: tuple[int, ...] = (2,)) -> list[float]:
    """A number d -> [-d, d]; a sequence of one of ``sizes`` lengths -> as floats."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{owner}: if {name} is a single number, it must be non-negative, got {value}")
        return [-float(value), float(value)]
    values = [float(v) for v in value]
    if len(values) not in sizes:
        raise ValueError(f"{owner}: {name} must be a number or a sequence of length {' or '.join(map(str, sizes))}, got {value!r}")
    return values


def _check_probability(p: float, owner: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{owner}: probability p must be in [0, 1], got {p}")
    return float(p)


def _uniform(low: float, high: float) -> float:
    return float(default_generator().uniform(low, high))


def _randint(high_exclusive: int) -> int:
    return int(default_generator().integers(0, high_exclusive))


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        return "Compose(\n" + "".join(f"    {t}\n" for t in self.transforms) + ")"


class ToTensor:
    """PIL image or uint8 array (H, W) / (H, W, C) -> float Tensor (C, H, W) in [0, 1]."""

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(tensor - mean) / std per channel, on float tensors (..., C, H, W)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """Wrap any function of one image as a transform."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_probability(p, "RandomHorizontalFlip")

    def __call__(self, img: Any) -> Any:
        return F.hflip(img) if default_generator().random() < self.p else img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (d -> (-d, d)), counter-clockwise for positive angles."""

    def __init__(
        self,
        degrees: float | Sequence[float],
        interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
        expand: bool = False,
        center: Sequence[float] | None = None,
        fill: float | Sequence[float] = 0,
    ) -> None:
        self.degrees = _angle_range(degrees, "degrees", "RandomRotation")
        self.interpolation = interpolation_mode(interpolation, "RandomRotation")
        if center is not None and len(center) != 2:
            raise ValueError(f"RandomRotation: center must be a sequence (x, y), got {center!r}")
        self.expand, self.center, self.fill = expand, center, fill

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        return _uniform(degrees[0], degrees[1])

    def __call__(self, img: Any) -> Any:
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self) -> str:
        return (
            f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation.value}, "
            f"expand={self.expand}, center={self.center}, fill={self.fill})"
        )


class RandomAffine:
    """A random rotation (degrees, clockwise as in torchvision's affine), translation, scale and shear.

    ``translate=(a, b)``: dx drawn in [-a W, a W], dy in [-b H, b H], rounded to whole pixels.
    ``scale=(lo, hi)``; ``shear``: s -> shear_x in (-s, s); (lo, hi) -> shear_x;
    (xlo, xhi, ylo, yhi) -> shear_x and shear_y.
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: float | Sequence[float] | None = None,
        interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
        fill: float | Sequence[float] = 0,
        center: Sequence[float] | None = None,
    ) -> None:
        owner = "RandomAffine"
        self.degrees = _angle_range(degrees, "degrees", owner)
        if translate is not None and (len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate)):
            raise ValueError(f"{owner}: translate must be two fractions in [0, 1], got {translate!r}")
        if scale is not None and (len(scale) != 2 or not all(s > 0 for s in scale)):
            raise ValueError(f"{owner}: scale must be two positive numbers (min, max), got {scale!r}")
        self.translate, self.scale = translate, scale
        self.shear = _angle_range(shear, "shear", owner, sizes=(2, 4)) if shear is not None else None
        self.interpolation = interpolation_mode(interpolation, owner)
        if center is not None and len(center) != 2:
            raise ValueError(f"{owner}: center must be a sequence (x, y), got {center!r}")
        self.fill, self.center = fill, center

    @staticmethod
    def get_params(
        degrees: Sequence[float],
        translate: Sequence[float] | None,
        scale_ranges: Sequence[float] | None,
        shears: Sequence[float] | None,
        img_size: Sequence[int],
    ) -> tuple[float, tuple[int, int], float, tuple[float, float]]:
        """(angle, (dx, dy), scale, (shear_x, shear_y)) for an image of ``img_size`` = (width, height)."""
        angle = _uniform(degrees[0], degrees[1])
        shift = (0, 0)
        if translate is not None:
            max_dx, max_dy = translate[0] * img_size[0], translate[1] * img_size[1]
            shift = (int(round(_uniform(-max_dx, max_dx))), int(round(_uniform(-max_dy, max_dy))))
        scale = _uniform(scale_ranges[0], scale_ranges[1]) if scale_ranges is not None else 1.0
        shear = [0.0, 0.0]
        if shears is not None:
            shear[0] = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear[1] = _uniform(shears[2], shears[3])
        return angle, shift, scale, (shear[0], shear[1])

    def __call__(self, img: Any) -> Any:
        _, height, width = F.get_dimensions(img)
        angle, shift, scale, shear = self.get_params(self.degrees, self.translate, self.scale, self.shear, (width, height))
        return F.affine(img, angle, shift, scale, shear, self.interpolation, self.fill, self.center)

    def __repr__(self) -> str:
        parts = [f"degrees={self.degrees}"]
        for name in ("translate", "scale", "shear"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)}")
        parts.append(f"interpolation={self.interpolation.value}")
        return f"RandomAffine({', '.join(parts)}, fill={self.fill})"


class RandomCrop:
    """Crop a random ``size`` = (h, w) (or an int for a square) box, after optional ``padding``.

    ``padding`` as in :func:`functional.pad`; ``pad_if_needed`` pads an image smaller than
    ``size`` up to it. A common MNIST augmentation: ``RandomCrop(28, padding=2)``.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
    ) -> None:
        sizes = [size] if isinstance(size, numbers.Number) else list(size)
        if len(sizes) == 1:
            sizes *= 2
        if len(sizes) != 2 or not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
            raise ValueError(f"RandomCrop: size must be a positive int or a sequence (h, w) of them, got {size!r}")
        if padding is not None:
            F.padding_sides(padding, "RandomCrop")
        if padding_mode not in F.PADDING_MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {', '.join(F.PADDING_MODES)}, got {padding_mode!r}")
        self.size = (int(sizes[0]), int(sizes[1]))
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a random box of ``output_size`` inside ``img``."""
        _, height, width = F.get_dimensions(img)
        crop_h, crop_w = output_size
        if height < crop_h or width < crop_w:
            raise ValueError(f"RandomCrop: required crop size {(crop_h, crop_w)} is larger than input image size {(height, width)}")
        if (height, width) == (crop_h, crop_w):
            return 0, 0, height, width
        return _randint(height - crop_h + 1), _randint(width - crop_w + 1), crop_h, crop_w

    def __call__(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomErasing:
    """With probability ``p``, erase a random box of a tensor (..., C, H, W) (Zhong et al., 2017).

    The box covers a fraction of the area drawn from ``scale`` and has an aspect ratio
    (height / width) drawn log-uniformly from ``ratio``; ``value`` is a number, one number
    per channel, or ``"random"`` (standard normal noise). After 10 boxes that do not fit,
    the image is returned unchanged.
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: float | Sequence[float] | str = 0,
        inplace: bool = False,
    ) -> None:
        owner = "RandomErasing"
        if isinstance(value, str) and value != "random":
            raise ValueError(f"{owner}: if value is a str, it should be 'random', got {value!r}")
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError(f"{owner}: value should be a number, 'random' or a sequence, got {type(value).__name__}")
        if len(scale) != 2 or len(ratio) != 2 or scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"{owner}: scale and ratio should be ranges (min, max), got scale={scale!r}, ratio={ratio!r}")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"{owner}: scale should be between 0 and 1, got {scale!r}")
        if ratio[0] <= 0:
            raise ValueError(f"{owner}: ratio should be positive, got {ratio!r}")
        self.p = _check_probability(p, owner)
        self.scale, self.ratio, self.value, self.inplace = scale, ratio, value, inplace

    @staticmethod
    def get_params(
        img: Tensor, scale: Sequence[float], ratio: Sequence[float], value: Sequence[float] | None = None
    ) -> tuple[int, int, int, int, Any]:
        """(top, left, height, width, fill) of the box; ``value=None`` means normal noise (C, h, w)."""
        channels, img_h, img_w = img.shape[-3:]
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(*log_ratio))
            # h / w = aspect and h * w = erase_area.
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                fill = default_generator().standard_normal((channels, h, w)).astype(img.dtype)
            else:
                fill = np.asarray(value, dtype=img.dtype)[:, None, None]
            return _randint(img_h - h + 1), _randint(img_w - w + 1), h, w, fill
        return 0, 0, img_h, img_w, img.array

    def __call__(self, img: Tensor) -> Tensor:
        img = F._require_tensor(img, "RandomErasing")
        if default_generator().random() >= self.p:
            return img
        if isinstance(self.value, str):
            value = None
        else:
            value = [float(self.value)] if isinstance(self.value, numbers.Number) else [float(v) for v in self.value]
            if len(value) not in (1, img.shape[-3]):
                raise ValueError(
                    f"RandomErasing: value has {len(value)} entries; it should have 1 or "
                    f"{img.shape[-3]} (the number of input channels)"
                )
        top, left, h, w, fill = self.get_params(img, self.scale, self.ratio, value)
        return F.erase(img, top, left, h, w, fill, self.inplace)

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value}, inplace={self.inplace})"


def batched(transform: Callable | None) -> Callable[[np.ndarray], Tensor] | None:
    """The fast path of a dataset's ``__getitems__``.

    For ``ToTensor()`` alone or followed by ``Normalize`` steps (deterministic, and exactly
    these classes, not subclasses that might behave differently), return a function that
    applies the transform to a whole uint8 batch (N, H, W) at once, giving the Tensor
    (N, C, H, W) whose image n equals the transform of image n. For any other transform
    return None: the caller then applies it image by image.
    """
    steps = list(transform.transforms) if type(transform) is Compose else [transform]
    if not steps or type(steps[0]) is not ToTensor or any(type(s) is not Normalize for s in steps[1:]):
        return None

    def apply(images: np.ndarray) -> Tensor:
        batch = F.to_tensor_batch(images)  # (N, C, H, W); Normalize broadcasts over N
        for step in steps[1:]:
            batch = step(batch)
        return batch

    return apply
