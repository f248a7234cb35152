"""The Functions behind Tensor methods: elementwise math, reductions, shape, indexing, matmul.

Each is an :class:`minicnn.autograd.Function` over raw arrays; the Tensor class in
:mod:`minicnn.tensor` only dispatches to them.
"""
