"""Where the CUDA C sources are, and which kernels each defines — read from the sources themselves.

Each ``kernels/*.cu`` file holds one algorithm's kernels as templates over the element type;
the CuPy backend compiles them with NVRTC, and the tests compile them with nvcc. The table of
kernels (:data:`SOURCES`, :data:`SOURCE_OF`) and each kernel's C parameter list
(:func:`kernel_parameters`) are parsed from the declarations

    template <typename T>
    __global__ void [__launch_bounds__(...)] NAME(TYPE NAME, TYPE NAME, ...)

so that adding a kernel to a file is all it takes for the backend to compile and find it, and
the tests can check the argument lists the host side passes against the C parameters
(tests/test_kernel_sources.py). No CuPy is needed to ask.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_KERNEL = re.compile(
    r"template\s*<\s*typename\s+T\s*>\s*__global__\s+void\s+"
    r"(?:__launch_bounds__\s*\([^()]*\)\s*)?"  # the block-size bound of the tiled kernels
    r"(\w+)\s*\(([^()]*)\)"
)
_PARAMETER = re.compile(r"^(.*?[\s*&])(\w+)$")


@dataclass(frozen=True)
class Parameter:
    """One C parameter: ``type`` with its spaces normalised (``const T*``), and ``name``."""

    type: str
    name: str

    @property
    def is_pointer(self) -> bool:
        return self.type.endswith("*")


def _parameter(text: str, kernel: str) -> Parameter:
    match = _PARAMETER.match(" ".join(text.split()))
    if match is None:
        raise ValueError(f"kernel {kernel}: cannot read the parameter {text.strip()!r} as 'TYPE NAME'")
    spelled = re.sub(r"\s*\*", "*", match.group(1).strip())  # "const T *" -> "const T*"
    return Parameter(spelled, match.group(2))


def declared_kernels(code: str) -> dict[str, tuple[Parameter, ...]]:
    """Kernel name -> its parameters, for every ``template <typename T> __global__ void`` in
    ``code``, in the order they are defined. Comments are ignored (a kernel in a comment is none),
    and so are the explicit instantiations (``template __global__ void NAME<T>(...)``)."""
    kernels: dict[str, tuple[Parameter, ...]] = {}
    for match in _KERNEL.finditer(_COMMENT.sub("", code)):
        name, parameters = match.group(1), match.group(2)
        if name in kernels:
            raise ValueError(f"kernel {name} is defined twice")
        kernels[name] = tuple(_parameter(p, name) for p in parameters.split(",")) if parameters.strip() else ()
    return kernels


def kernel_directory() -> Path:
    """``minicnn/kernels``: in a checkout a link to the top-level ``kernels/``, in a wheel a copy."""
    directory = Path(__file__).resolve().parents[2] / "kernels"
    if (directory / "common.cuh").is_file():
        return directory
    raise FileNotFoundError(f"the CUDA sources are missing: no {directory}/common.cuh")


def _read_sources() -> dict[str, dict[str, tuple[Parameter, ...]]]:
    """File name -> its kernels and their parameters, for every kernels/*.cu; a kernel name
    defined in two files is an error (the backend finds a kernel's file by its name)."""
    table, seen = {}, {}
    for source, code in _CODE.items():
        table[source] = declared_kernels(code)
        for kernel in table[source]:
            if kernel in seen:
                raise ValueError(f"kernel {kernel} is defined in both {seen[kernel]} and {source}")
            seen[kernel] = source
    return table


_CODE = {path.name: path.read_text() for path in sorted(kernel_directory().glob("*.cu"))}
_PARSED = _read_sources()

# The kernels of each source file, as their templates are named there, in the file's order.
SOURCES: dict[str, tuple[str, ...]] = {source: tuple(kernels) for source, kernels in _PARSED.items()}
# The source file of each kernel.
SOURCE_OF: dict[str, str] = {kernel: source for source, kernels in SOURCES.items() for kernel in kernels}
# The files whose kernels take the tile constants as -D macros (see cuda_launch.tile_constants).
TILED_SOURCES: tuple[str, ...] = tuple(source for source, code in _CODE.items() if "MINICNN_TILE" in code)


def kernel_parameters(kernel: str) -> tuple[Parameter, ...]:
    """The C parameters of ``kernel`` (e.g. "conv2d_forward"), in order, as its source declares them."""
    if kernel not in SOURCE_OF:
        raise KeyError(f"no kernel {kernel!r} in {kernel_directory()}/*.cu; the kernels are {sorted(SOURCE_OF)}")
    return _PARSED[SOURCE_OF[kernel]][kernel]


# The element types every kernel is instantiated for: NumPy dtype name -> C type.
C_TYPES = {"float32": "float", "float64": "double"}


def compile_definitions(source: str, tile: int, weight_threads: int) -> tuple[str, ...]:
    """The ``-D`` options (NVRTC's and nvcc's) that compile ``source`` for tiles of up to
    ``tile`` x ``tile`` pixels and grad-weight blocks of up to ``weight_threads`` threads."""
    if source not in TILED_SOURCES:
        return ()
    return (f"-DMINICNN_TILE={tile}", f"-DMINICNN_WEIGHT_THREADS={weight_threads}")
