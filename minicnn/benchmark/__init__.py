"""Shared pieces of the benchmarks: the standard layer set, FLOP counts, the machine's GEMM peak.

Used by the pytest-benchmark suite in ``benchmarks/`` and (later) by ``minicnn bench``.
"""
from .layers import STANDARD_LAYERS, ConvLayer, conv_flops
from .machine import blas_info, gemm_peak_gflops

__all__ = ["STANDARD_LAYERS", "ConvLayer", "conv_flops", "blas_info", "gemm_peak_gflops"]
