"""pytest-benchmark setup: record the BLAS kernels and the measured GEMM peak with every run."""
import os
import time

import pytest
import torch

from minicnn.benchmark import blas_info, gemm_peak_gflops

# torch and NumPy each get the machine's cores, one library at a time (pytest-benchmark times
# each test in its own warmed-up block, so the two thread pools never run together).
torch.set_num_threads(os.cpu_count() or 1)


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["minicnn_blas"] = blas_info()
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["numpy_sgemm_peak_gflops"] = round(gemm_peak_gflops(), 1)


@pytest.fixture(autouse=True)
def idle_thread_pools():
    """Let OpenBLAS's worker threads stop spinning before the next block is timed.

    After a NumPy GEMM its idle threads busy-wait for ~0.1 s; a torch block started inside
    that window runs on one core instead of two (DESIGN.md, performance trap 2).
    """
    time.sleep(0.3)
