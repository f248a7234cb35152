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

# The files whose kernels take the tile constants as macros (see cuda_launch.tile_constants).
TILED_SOURCES = ("direct_conv.cu",)


def compile_definitions(source: str, tile: int, weight_threads: int) -> tuple[str, ...]:
    """The ``-D`` options (NVRTC's and nvcc's) that compile ``source`` for tiles of up to
    ``tile`` x ``tile`` pixels and grad-weight blocks of up to ``weight_threads`` threads."""
    if source not in TILED_SOURCES:
        return ()
    return (f"-DMINICNN_TILE={tile}", f"-DMINICNN_WEIGHT_THREADS={weight_threads}")


def kernel_directory() -> Path:
    """``minicnn/kernels``: in a checkout a link to the top-level ``kernels/``, in a wheel a copy."""
    directory = Path(__file__).resolve().parents[2] / "kernels"
    if (directory / "common.cuh").is_file():
        return directory
    raise FileNotFoundError(f"the CUDA sources are missing: no {directory}/common.cuh")
