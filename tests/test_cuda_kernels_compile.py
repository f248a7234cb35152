"""Every kernels/*.cu compiles with nvcc for sm_80 (A100) and sm_90 (H100), warnings as errors, and
the binary holds, for float and double, exactly the kernels the CuPy backend reads from the source
and asks NVRTC for (minicnn.tuned.gpu.sources); the tiled conv for each tile setting the tests
launch it with (:data:`TILE_SETTINGS`).

Needs only nvcc (on PATH or in /usr/local/cuda/bin), not a GPU; skipped with that reason where
there is none.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from minicnn.tuned.gpu import launch as cuda_launch
from minicnn.tuned.gpu.sources import C_TYPES, SOURCES, TILED_SOURCES, compile_definitions, kernel_directory
from helpers.launches import TILE_IDS, TILE_SETTINGS

KERNELS = kernel_directory()
NVCC = shutil.which("nvcc") or next((str(p) for p in Path("/usr/local").glob("cuda*/bin/nvcc")), None)
ARCHITECTURES = ["sm_80", "sm_90"]

# (TILE, WEIGHT_THREADS) of cuda_launch: the defaults, and small ones under which the GPU tests
# (tests/test_cupy.py) reach the second and later tiles and tap groups on small shapes.


def _builds():
    """(source, tile setting): every file once, the tiled ones once per tile setting."""
    for source in sorted(SOURCES):
        for tiles, name in zip(TILE_SETTINGS, TILE_IDS) if source in TILED_SOURCES else [(TILE_SETTINGS[0], "")]:
            yield pytest.param(source, tiles, id=f"{source}-{name}" if name else source)

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc not found (on PATH or in /usr/local/cuda*/bin)")


def _kernels_in(binary: bytes) -> set[tuple[str, str]]:
    """(name, C type) of every ``name<float>`` / ``name<double>`` in a cubin, read from the
    Itanium-mangled symbols: ``_Z6im2colIfE…`` is im2col<float> (the length, the name, I f E)."""
    found = set()
    for match in re.finditer(rb"_Z(\d+)", binary):
        end = match.end() + int(match.group(1))
        argument = binary[end:end + 3]
        if argument in (b"IfE", b"IdE"):
            found.add((binary[match.end():end].decode(), {b"f": "float", b"d": "double"}[argument[1:2]]))
    return found


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("source, tiles", list(_builds()))
def test_compiles_with_nvcc(source, tiles, architecture, tmp_path):
    cubin = tmp_path / f"{source}.{architecture}.cubin"
    command = [NVCC, f"-arch={architecture}", "-cubin", "-Werror", "all-warnings", *compile_definitions(source, *tiles),
               "-I", str(KERNELS), "-o", str(cubin), str(KERNELS / source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
    want = {(kernel, c_type) for kernel in SOURCES[source] for c_type in C_TYPES.values()}
    assert _kernels_in(cubin.read_bytes()) == want, f"{source} for {architecture}"


@pytest.mark.parametrize("tiles", [(0, 256), (16, 2048), (33, 256)], ids=["empty-tile", "too-many-threads", "tile-over-1024-threads"])
def test_impossible_tile_constants_are_refused_at_compile_time(tiles, tmp_path):
    command = [NVCC, "-arch=sm_80", "-cubin", *compile_definitions("direct_conv.cu", *tiles), "-I", str(KERNELS),
               "-o", str(tmp_path / "refused.cubin"), str(KERNELS / "direct_conv.cu")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "at most 1024 threads" in result.stdout + result.stderr
