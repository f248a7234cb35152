"""Tensor methods for reductions: sum, mean, var/std, max/min (with indices), argmax/argmin.

Empty inputs behave as in torch: a sum over nothing is 0 and a mean is nan; max, min and
their arg- forms refuse to reduce an empty dim (there is no element to return).
"""
from __future__ import annotations

import builtins
import collections
import math
import operator

import numpy as np

from ..autograd.tensor_core import Tensor
from ..backends.arrays import array_module
from ..ops import reduction
from ..ops.dims import wrap_dim, wrap_dims
from .arithmetic import maximum, minimum


def _return_type(name: str) -> type:
    """A (values, indices) named tuple printed as torch prints ``torch.return_types.max``."""

    def __repr__(self) -> str:
        return f"minicnn.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"

    base = collections.namedtuple(name, ("values", "indices"))
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": "minicnn.return_types"})


_RETURN_TYPES = {"max": _return_type("max"), "min": _return_type("min")}


class ReductionMethods:
    """Reductions along dims (or over everything), as Tensor methods."""

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        return reduction.Sum.apply(source, dims=wrap_dims(dim, self.ndim), keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {source.array.dtype}"
            )
        return reduction.Mean.apply(source, dims=wrap_dims(dim, self.ndim), keepdim=keepdim)

    def var(self, dim=None, unbiased: bool = True, keepdim: bool = False):
        """Mean squared deviation, divided by n - 1 (``unbiased``) or n; nan where that is 0."""
        mean = self.mean(dim, keepdim=True)
        n = math.prod(self.shape[d] for d in wrap_dims(dim, self.ndim))  # elements per group
        divisor = builtins.max(n - 1, 0) if unbiased else n
        squares = ((self - mean) ** 2).sum(dim, keepdim=keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0: nan, as torch
            return squares / divisor

    def std(self, dim=None, unbiased: bool = True, keepdim: bool = False):
        return self.var(dim, unbiased, keepdim).sqrt()

    def _reduced_axis(self, name: str, dim) -> int | None:
        """Check the dim of max/min/argmax/argmin: None (everything) or one int, never empty."""
        if dim is None:
            if self.array.size == 0:
                # torch's own inconsistency: max()/min() raise RuntimeError, argmax()/argmin() IndexError
                error = IndexError if name.startswith("arg") else RuntimeError
                raise error(
                    f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                    f"Specify the reduction dim with the 'dim' argument."
                )
            return None
        try:
            axis = wrap_dim(operator.index(dim), self.ndim)
        except TypeError:
            raise TypeError(f"{name}(): dim must be an int, got {type(dim).__name__}") from None
        if self.ndim and self.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        return axis

    def _extreme(self, name: str, dim, keepdim: bool, largest: bool):
        axis = self._reduced_axis(name, dim)
        if axis is None:
            return reduction.MaxMinAll.apply(self, largest=largest)
        values, indices = reduction.MaxMin.apply(self, dim=axis, keepdim=keepdim, largest=largest)
        return _RETURN_TYPES[name](values, indices)

    def max(self, dim=None, keepdim: bool = False):
        """The largest value; with ``dim``, (values, indices) along it; with a tensor, elementwise."""
        if isinstance(dim, Tensor):
            return maximum(self, dim)
        return self._extreme("max", dim, keepdim, largest=True)

    def min(self, dim=None, keepdim: bool = False):
        """The smallest value; with ``dim``, (values, indices) along it; with a tensor, elementwise."""
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        return self._extreme("min", dim, keepdim, largest=False)

    def _arg_extreme(self, name: str, dim, keepdim: bool, largest: bool) -> Tensor:
        xp = array_module(self.array)
        find = xp.argmax if largest else xp.argmin
        axis = self._reduced_axis(name, dim)
        if axis is None:  # an index into the flattened tensor
            shape = (1,) * self.ndim if keepdim else ()
            return Tensor(xp.full(shape, find(self.array), dtype=xp.int64))
        if self.ndim == 0:
            return Tensor(xp.zeros((), dtype=xp.int64))
        return Tensor(find(self.array, axis=axis, keepdims=keepdim).astype(xp.int64, copy=False))

    def argmax(self, dim=None, keepdim: bool = False) -> Tensor:
        return self._arg_extreme("argmax", dim, keepdim, largest=True)

    def argmin(self, dim=None, keepdim: bool = False) -> Tensor:
        return self._arg_extreme("argmin", dim, keepdim, largest=False)

    def all(self) -> Tensor:
        return Tensor(self.array.all())

    def any(self) -> Tensor:
        return Tensor(self.array.any())
