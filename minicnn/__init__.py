"""minicnn: a from-scratch convolution engine with a small autograd core.

Written to be read: every op is a Function with its backward beside its forward, conv2d has
several algorithms side by side, and the API mirrors PyTorch's CNN subset so that
``import minicnn as torch`` runs a PyTorch CNN program. torch is never imported here.
"""
# Importing minicnn changes no process-wide state: glibc's malloc settings are an explicit
# call, minicnn.allocator.keep_freed_memory(), which the minicnn commands make.
from . import accelerator, allocator, autograd, backends, cuda, dtypes
from .autograd import enable_grad, gradcheck, is_grad_enabled, no_grad, set_grad_enabled
from .device import device
from .dtypes import (
    bool, can_cast, double, float, float16, float32, float64, get_default_dtype, half, int, int8, int16,
    int32, int64, long, promote_types, set_default_dtype, short, uint8,
)
from .size import Size
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state
from .creation import (
    arange, as_tensor, empty, eye, from_numpy, full, linspace, ones, ones_like, rand, randint,
    randn, randperm, tensor, zeros, zeros_like,
)
from .tensor import (
    Tensor, abs, add, allclose, argmax, argmin, cat, clamp, clip, concat, concatenate, div, equal,
    exp, flatten, is_tensor, log, log_softmax, matmul, max, maximum, mean, min, minimum, mul,
    numel, permute, relu, reshape, sigmoid, softmax, sqrt, squeeze, stack, std, sub, sum, t, tanh,
    transpose, unsqueeze, var, where,
)
from . import functional, nn, optim, utils, vision, models  # after Tensor: they build on it
from .serialization import load, save
from .functional.conv import (  # the conv algorithm knobs, at the top for convenience
    available_algorithms, conv_algorithm, get_default_algorithm, set_default_algorithm,
)
from .study import summary

__version__ = "0.1.0"


def is_floating_point(t: Tensor) -> "bool":
    return t.is_floating_point()
