"""Hand-designed 3x3 kernels from image processing, applied with minicnn's conv2d.

Before CNNs learned their filters, people wrote them: the ones below find edges, sharpen or
blur. A trained network's first layer often ends up with similar shapes (see
``minicnn visualize filters``). conv2d is a cross-correlation (no kernel flip), so Sobel x as
written here responds positively where the image gets brighter to the right.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor

CLASSIC_KERNELS: dict[str, np.ndarray] = {
    # Laplacian-style outline: zero on flat regions (the weights sum to 0), large at edges.
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32),
    # Horizontal / vertical derivative, smoothed across the other axis with weights 1, 2, 1.
    "sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    # The pixel plus its difference from its neighbours (sums to 1: flat regions unchanged).
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    # Averages: all weights equal, or a binomial approximation of a Gaussian (both sum to 1).
    "box blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
}


def apply_kernels(pixels: np.ndarray,
                  kernels: dict[str, np.ndarray] = CLASSIC_KERNELS) -> dict[str, np.ndarray]:
    """Filter a grayscale (H, W) image with each kernel -> {name: (H, W)}.

    All kernels run as ONE conv2d with len(kernels) output channels: the stacked weight is
    (K, 1, KH, KW), padding "same" keeps the size, and output channel k is the image filtered by
    kernel k.
    """
    names = list(kernels)
    weight = Tensor(np.stack([kernels[name] for name in names])[:, None].astype(np.float32))
    image = Tensor(np.asarray(pixels, dtype=np.float32)[None, None])   # (1, 1, H, W)
    filtered = F.conv2d(image, weight, padding="same").numpy()[0]            # (K, H, W)
    return dict(zip(names, filtered))
