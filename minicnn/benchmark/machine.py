"""Facts about the machine that every benchmark result must carry."""
from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_info


def blas_info() -> dict:
    """Which BLAS NumPy uses, which kernel it picked, and the thread/env settings that change it.

    ``OPENBLAS_CORETYPE`` forces a kernel family (Haswell's sgemm is ~2x slower than the
    autodetected one on the 2-core machines), so it is recorded with every result, and so is
    the kernel OpenBLAS picked at run time (threadpoolctl's "architecture").
    """
    return {
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset: autodetect)"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
        "blas": [{k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                 for pool in threadpool_info() if pool.get("user_api") == "blas"],
    }


def best_gemm_gflops(matmul: Callable[[], object], n: int, synchronize: Callable[[], None],
                     repeats: int = 5) -> float:
    """Best-of-``repeats`` GFLOP/s of ``matmul()``, one n x n x n GEMM on inputs made up front.

    One untimed call first (thread pool start, page faults on the output, cuBLAS handles);
    ``synchronize`` waits for a GPU to finish, so the time covers the work and not the launch.
    """
    matmul()
    synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul()
        synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def gemm_peak_gflops(n: int = 2048, dtype=np.float32, repeats: int = 5) -> float:
    """Best-of-``repeats`` GFLOP/s of one n x n x n NumPy GEMM: the ceiling conv can reach here."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    return best_gemm_gflops(lambda: np.matmul(a, b, out=out), n, lambda: None, repeats)


def cupy_gemm_peak_gflops(n: int = 4096, repeats: int = 5) -> float:
    """The same for CuPy's float32 GEMM (cuBLAS) on the current GPU: minicnn's GPU ceiling."""
    import cupy

    a = cupy.random.standard_normal((n, n), dtype=cupy.float32)
    b = cupy.random.standard_normal((n, n), dtype=cupy.float32)
    out = cupy.empty((n, n), cupy.float32)
    synchronize = cupy.cuda.Device().synchronize
    return best_gemm_gflops(lambda: cupy.matmul(a, b, out=out), n, synchronize, repeats)


def torch_gemm_peak_gflops(torch: ModuleType, device: str = "cpu", n: int = 2048,
                           repeats: int = 5) -> float:
    """The same for torch's float32 GEMM on ``device``; ``torch`` is the module, passed in
    because minicnn never imports it itself."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    synchronize = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return best_gemm_gflops(lambda: torch.matmul(a, b, out=out), n, synchronize, repeats)


@dataclass(frozen=True)
class GemmPeaks:
    """Measured float32 GEMM GFLOP/s: minicnn's ceilings (NumPy's BLAS on the CPU, cuBLAS through
    CuPy on the GPU) and torch's, for reference. None where that library or device is absent."""

    numpy_cpu: float
    cupy_cuda: float | None = None
    torch_cpu: float | None = None
    torch_cuda: float | None = None

    def for_device(self, device: str) -> float | None:
        """The peak that rates a conv on ``device``: minicnn's own GEMM there (torch's if no CuPy)."""
        return self.numpy_cpu if device == "cpu" else (self.cupy_cuda or self.torch_cuda)

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def measure_gemm_peaks(torch: ModuleType | None, torch_devices: tuple[str, ...], with_cupy: bool,
                       n: int = 2048, settle_seconds: float = 0.2) -> GemmPeaks:
    """NumPy's peak first, then CuPy's, then torch's on each of ``torch_devices``.

    Each library is measured in its own block, with a pause after NumPy's so that OpenBLAS's
    spinning threads do not slow torch's CPU GEMM (DESIGN.md, Performance).
    """
    numpy_cpu = gemm_peak_gflops(n)
    cupy_cuda = cupy_gemm_peak_gflops(2 * n) if with_cupy else None
    time.sleep(settle_seconds)
    torch_peaks = {device: torch_gemm_peak_gflops(torch, device, n if device == "cpu" else 2 * n)
                   for device in torch_devices}
    return GemmPeaks(numpy_cpu, cupy_cuda, torch_peaks.get("cpu"), torch_peaks.get("cuda"))
