"""The Functions behind Tensor methods: elementwise math, reductions, shape, indexing, matmul,
dtype/device moves and the activations that Tensor carries (relu, sigmoid, tanh, softmax).

Each is an :class:`minicnn.autograd.Function` over raw arrays. They sit above the Tensor core
(:mod:`minicnn.autograd.tensor_core`) and below the method surface in :mod:`minicnn.tensor`,
which checks arguments and dispatches to them.
"""
