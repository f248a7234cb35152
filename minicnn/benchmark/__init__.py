"""Benchmarks of minicnn against torch: the workloads, the machine facts, and ``minicnn bench``.

- :mod:`.layers`          the standard conv layer set, pooling shapes, the LeNet-5 step; FLOP counts
- :mod:`.machine`         BLAS kernels and settings, measured GEMM peaks
- :mod:`.timing`          THE timing method (warmed blocks alternated over rounds), used everywhere
- :mod:`.implementations` torch on a device, or a minicnn backend x conv2d algorithm
- :mod:`.cases`           the benchmark matrix and the code each case times
- :mod:`.runner`          each group of cases timed by the method, then its memory measured
- :mod:`.torch_alone`     torch alone in a fresh process at malloc's defaults (a second column)
- :mod:`.memory`, :mod:`.accuracy`, :mod:`.auto_report`   peak memory, error against float64, auto's choices
- :mod:`.stats`           median, IQR, GFLOP/s, ratios
- :mod:`.results`, :mod:`.table`, :mod:`.plot`, :mod:`.progress`   the report
- :mod:`.commands`        the ``minicnn bench`` subcommand

Used by the pytest-benchmark suites in ``benchmarks/`` too. Nothing here imports torch at
import time: :func:`.implementations.optional_torch` loads it when a run asks.
"""
from .layers import STANDARD_LAYERS, STANDARD_POOLS, ConvLayer, LeNetStep, PoolLayer, conv_flops
from .machine import blas_info, gemm_peak_gflops

__all__ = ["STANDARD_LAYERS", "STANDARD_POOLS", "ConvLayer", "LeNetStep", "PoolLayer", "conv_flops",
           "blas_info", "gemm_peak_gflops"]
