"""Tensor with its whole torch surface, and torch's free functions (``minicnn.cat``, …).

The class is defined once, with its core (array, grad, grad_fn, backward, hooks), in
:mod:`minicnn.autograd.tensor_core`, below the ops, so that every Function can wrap its
outputs in it. The method surface is built on those ops, in one module per kind:

==============  ===========================================================================
arithmetic      operators, ``add``/``div(rounding_mode=)``/``pow``, ``exp``/``log``/``clamp``,
                comparisons, ``matmul``
reduction       ``sum``, ``mean``, ``var``/``std``, ``max``/``min`` (values, indices), ``argmax``
shape           ``reshape``/``view``, ``permute``/``transpose``/``t``, ``expand``, ``split``,
                indexing; ``cat``, ``stack``
inplace         ``add_``, ``mul_``, ``copy_``, ``zero_``, ``clamp_``, item assignment
conversion      ``to``, ``float()``, ``cuda()``, ``clone``
activation      ``relu``, ``sigmoid``, ``tanh``, ``softmax``, ``log_softmax``
==============  ===========================================================================

and this module attaches them to the class, once, at import. So the package imports only
downward: Tensor core and Function, then the ops, then these methods, then functional.
"""
from __future__ import annotations

from typing import Any, Callable

from ..autograd.tensor_core import Tensor
from .activation import ActivationMethods
from .arguments import sizes as _sizes
from .arguments import to_array_like as _to_array_like
from .arithmetic import ArithmeticMethods, allclose, equal, matmul, maximum, minimum, where
from .conversion import ConversionMethods
from .inplace import InPlaceMethods
from .reduction import ReductionMethods
from .shape import ShapeMethods, cat, concat, concatenate, flatten, stack

__all__ = [
    "Tensor", "abs", "add", "allclose", "argmax", "argmin", "cat", "clamp", "clip", "concat",
    "concatenate", "div", "equal", "exp", "flatten", "is_tensor", "log", "log_softmax", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "numel", "permute", "relu", "reshape", "sigmoid",
    "softmax", "sqrt", "squeeze", "stack", "std", "sub", "sum", "t", "tanh", "transpose", "unsqueeze", "var",
    "where", "_sizes", "_to_array_like",
]

# What every class body holds without being written (__module__, __dict__, …): not methods.
_CLASS_BOOKKEEPING = frozenset(vars(type("Empty", (), {})))


def _attach(*method_sets: type) -> None:
    """Give Tensor the members of each method set; a name defined twice is a bug, so it raises."""
    for methods in method_sets:
        for name, member in vars(methods).items():
            # A class body that defines __eq__ gets __hash__ = None; Tensor keeps hashing by identity.
            if name in _CLASS_BOOKKEEPING or (name == "__hash__" and member is None):
                continue
            if name in vars(Tensor):
                raise TypeError(f"Tensor.{name} is defined twice (again in {methods.__name__})")
            setattr(Tensor, name, member)


_attach(ArithmeticMethods, ReductionMethods, ShapeMethods, InPlaceMethods, ConversionMethods,
        ActivationMethods)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def _forward_method(name: str) -> Callable:
    def fn(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``minicnn.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


# minicnn.exp(t), minicnn.sum(t, dim), … as torch's free functions.
(exp, log, sqrt, abs, clamp, clip, sum, mean, max, min, argmax, argmin, reshape, permute, transpose,
 squeeze, unsqueeze, relu, sigmoid, tanh, softmax, log_softmax, numel, var, std, add, sub, mul, div,
 t) = (
    _forward_method(n) for n in (
        "exp", "log", "sqrt", "abs", "clamp", "clip", "sum", "mean", "max", "min", "argmax", "argmin",
        "reshape", "permute", "transpose", "squeeze", "unsqueeze", "relu", "sigmoid", "tanh",
        "softmax", "log_softmax", "numel", "var", "std", "add", "sub", "mul", "div", "t",
    )
)
