"""Where the CUDA C sources are, and which kernels each defines (no CuPy needed to ask).

Each ``kernels/*.cu`` file holds one algorithm's kernels as templates over the element type;
the CuPy backend compiles them with NVRTC, and the tests compile them with nvcc.
"""
from __future__ import annotations

from pathlib import Path

# The kernels of each source file, as their templates are named there.
SOURCES = {
    "direct_conv.cu": ("conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight"),
    "im2col.cu": ("im2col", "col2im"),
    "max_pool.cu": ("max_pool_forward", "max_pool_backward"),
    "avg_pool.cu": ("avg_pool_forward", "avg_pool_backward"),
}

# The element types every kernel is instantiated for: NumPy dtype name -> C type.
C_TYPES = {"float32": "float", "float64": "double"}


def kernel_directory() -> Path:
    """``minicnn/kernels``: in a checkout a link to the top-level ``kernels/``, in a wheel a copy."""
    directory = Path(__file__).resolve().parents[2] / "kernels"
    if (directory / "common.cuh").is_file():
        return directory
    raise FileNotFoundError(f"the CUDA sources are missing: no {directory}/common.cuh")
