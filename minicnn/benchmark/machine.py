"""Facts about the machine that every benchmark result must carry."""
from __future__ import annotations

import os
import platform
import time

import numpy as np


def blas_info() -> dict:
    """Which BLAS NumPy uses, which kernel it picked, and the thread/env settings that change it.

    ``OPENBLAS_CORETYPE`` forces a kernel family (Haswell's sgemm is ~2x slower than the
    autodetected one on the 2-core machines), so it is recorded with every result.
    """
    info = {
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset: autodetect)"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for pool in threadpool_info()
            if pool.get("user_api") == "blas"
        ]
    except ImportError:
        config = np.show_config(mode="dicts") if "mode" in np.show_config.__code__.co_varnames else {}
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = [{"name": blas.get("name"), "version": blas.get("version")}]
    return info


def gemm_peak_gflops(n: int = 2048, dtype=np.float32, repeats: int = 5) -> float:
    """Best-of-``repeats`` GFLOP/s of one n x n x n NumPy GEMM: the ceiling conv can reach here."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)  # warm up: thread pool start, page faults on ``out``
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9
