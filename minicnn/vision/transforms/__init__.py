"""Image transforms with torchvision.transforms' names: the classes here, the operations in ``functional``.

A typical MNIST pipeline::

    transforms.Compose([
        transforms.RandomRotation(10),          # on the uint8 array (28, 28)
        transforms.ToTensor(),                  # -> float32 Tensor (1, 28, 28) in [0, 1]
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
"""
from . import functional
from .transforms import (
    Compose, Lambda, Normalize, RandomAffine, RandomCrop, RandomErasing, RandomHorizontalFlip,
    RandomRotation, ToTensor, batched,
)
from .warp import InterpolationMode

__all__ = [
    "Compose", "InterpolationMode", "Lambda", "Normalize", "RandomAffine", "RandomCrop",
    "RandomErasing", "RandomHorizontalFlip", "RandomRotation", "ToTensor", "batched", "functional",
]
