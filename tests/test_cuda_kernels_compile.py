"""Every kernels/*.cu compiles with nvcc for sm_80 (A100) and sm_90 (H100), warnings as errors, and
defines, for float and double, every kernel the CuPy backend asks NVRTC for.

Needs only nvcc (on PATH or in /usr/local/cuda/bin), not a GPU; skipped with that reason where
there is none.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from minicnn.tuned.gpu.sources import C_TYPES, SOURCES, kernel_directory

KERNELS = kernel_directory()
NVCC = shutil.which("nvcc") or next((str(p) for p in Path("/usr/local").glob("cuda*/bin/nvcc")), None)
ARCHITECTURES = ["sm_80", "sm_90"]

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc not found (on PATH or in /usr/local/cuda*/bin)")


def _mangled(kernel: str, c_type: str) -> bytes:
    """The Itanium-mangled name prefix of ``kernel<c_type>``: e.g. _Z6im2colIfE for im2col<float>."""
    return f"_Z{len(kernel)}{kernel}I{c_type[0]}E".encode()


def test_every_source_file_is_known_to_the_backend():
    assert sorted(p.name for p in KERNELS.glob("*.cu")) == sorted(SOURCES)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_compiles_with_nvcc(source, architecture, tmp_path):
    cubin = tmp_path / f"{source}.{architecture}.cubin"
    command = [NVCC, f"-arch={architecture}", "-cubin", "-Werror", "all-warnings",
               "-I", str(KERNELS), "-o", str(cubin), str(KERNELS / source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
    binary = cubin.read_bytes()
    for kernel in SOURCES[source]:
        for c_type in C_TYPES.values():
            assert _mangled(kernel, c_type) in binary, f"{source}: {kernel}<{c_type}> missing for {architecture}"


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_declares_exactly_the_kernels_the_backend_launches(source):
    declared = re.findall(r"__global__ void (\w+)\(", (KERNELS / source).read_text())
    assert sorted(declared) == sorted(SOURCES[source])
