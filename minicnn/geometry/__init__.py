"""The spatial arithmetic of sliding-window ops, below everything that computes with it.

- :mod:`.conv`     conv2d's arguments validated once into a frozen :class:`ConvGeometry`
- :mod:`.windows`  the pools' windows: output sizes (``ceil_mode``), padding, the strided view
- :mod:`.taps`     which padded-input positions each kernel tap reads; padding and cropping

Shared by the reference ops (:mod:`minicnn.functional`), the tuned ones (:mod:`minicnn.tuned`),
and the study and benchmark tools, so that all of them agree on every size.
"""
from .conv import ConvGeometry, check_dtypes_and_devices, check_input_dim, conv2d_geometry, output_length
from .taps import crop_padding, kernel_taps, pad_input, tap_range, tap_slice
from .windows import SlidingWindows, adaptive_bounds, pooled_size

__all__ = [
    "ConvGeometry", "SlidingWindows", "adaptive_bounds", "check_dtypes_and_devices", "check_input_dim",
    "conv2d_geometry", "crop_padding", "kernel_taps", "output_length", "pad_input", "pooled_size", "tap_range",
    "tap_slice",
]
