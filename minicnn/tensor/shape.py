"""Tensor methods that change shape or select: reshape/view, permute, expand, split, indexing.

Each is one Function of :mod:`minicnn.ops.shape`, which moves the numbers and routes the
gradient back; the checks (dims in range, sizes that fit, torch's messages) are here. Also
the free functions that join tensors, ``cat`` and ``stack``.
"""
from __future__ import annotations

import builtins
import functools
import itertools
import math
from typing import Sequence

import numpy as np

from .. import dtypes
from ..autograd.tensor_core import Tensor
from ..ops import shape as S
from ..ops.dims import wrap_dim, wrap_dims
from .arguments import cast, check_same_device, sizes


def _unwrap_key_part(part):
    if isinstance(part, Tensor):
        return part.array
    if isinstance(part, list):  # x[[0, 2]] and x[[True, False]]: index arrays, as in torch
        return np.asarray(part)
    return part


def unwrap_key(key):
    """An indexing key NumPy understands: Tensors become their arrays, lists become arrays."""
    if isinstance(key, tuple):
        return tuple(_unwrap_key_part(k) for k in key)
    return _unwrap_key_part(key)


class ShapeMethods:
    """Reshaping, reordering, splitting and indexing, as Tensor methods."""

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    def reshape(self, *shape):
        shape = sizes(shape)
        if -1 in shape and math.prod(n for n in shape if n != -1) == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                f"unspecified dimension size -1 can be any value and is ambiguous"
            )
        try:
            return S.Reshape.apply(self, shape=shape)
        except ValueError:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {self.numel()}"
            ) from None

    view = reshape  # arrays need no contiguity for a view here

    def view_as(self, other: "Tensor"):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = wrap_dim(start_dim, self.ndim), wrap_dim(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        merged = math.prod(self.shape[start : end + 1])
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def permute(self, *dims):
        dims = sizes(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                f"the length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} "
                f"is not equal to len(dims) = {len(dims)}"
            )
        axes = tuple(wrap_dim(d, self.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return S.Permute.apply(self, dims=axes)

    def transpose(self, dim0: int, dim1: int):
        i, j = wrap_dim(dim0, self.ndim), wrap_dim(dim1, self.ndim)
        order = list(range(self.ndim))
        if i != j:
            order[i], order[j] = order[j], order[i]
        return S.Permute.apply(self, dims=tuple(order))

    @property
    def T(self):
        return S.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def squeeze(self, dim=None):
        """Drop size-1 dims: all of them, or those among ``dim`` (an int or a tuple)."""
        axes = wrap_dims(dim, self.ndim)
        return S.Reshape.apply(
            self, shape=tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        )

    def unsqueeze(self, dim: int):
        d = wrap_dim(dim, self.ndim + 1)
        return S.Reshape.apply(self, shape=self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *size):
        """A broadcast view; -1 keeps a size. New leading dims may be added (torch's rules)."""
        size = sizes(size)
        lead = len(size) - self.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(size)}) must be greater or equal "
                f"to the number of dimensions in the tensor ({self.ndim})"
            )
        target = []
        for i, n in enumerate(size):
            own = self.shape[i - lead] if i >= lead else None
            if n == -1 and own is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            if n == -1:
                n = own
            elif own not in (None, 1, n):
                raise RuntimeError(
                    f"The expanded size of the tensor ({n}) must match the existing size ({own}) "
                    f"at non-singleton dimension {i}.  Target sizes: {list(size)}.  "
                    f"Tensor sizes: {list(self.shape)}"
                )
            target.append(n)
        return S.Expand.apply(self, shape=tuple(target))

    def expand_as(self, other: "Tensor"):
        return self.expand(other.shape)

    def contiguous(self):
        return self  # NumPy and CuPy handle any strides; kernels that need C order copy themselves

    def split(self, split_size: builtins.int | Sequence[builtins.int], dim: builtins.int = 0) -> tuple:
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the sizes listed.

        An empty dim still gives one (empty) piece, as in torch.
        """
        d = wrap_dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size, builtins.int):
            sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
            sizes = sizes or [0]
        else:
            sizes = list(split_size)
            if builtins.sum(sizes) != n:
                raise RuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                    f"size at dimension {d}), but got split_sizes={sizes}"
                )
        lead = (slice(None),) * d
        starts = itertools.accumulate(sizes, initial=0)
        return tuple(self[lead + (slice(s, s + k),)] for s, k in zip(starts, sizes))

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple:
        """``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer if they run out); an
        empty dim gives ``chunks`` empty pieces, as in torch."""
        n = self.shape[wrap_dim(dim, self.ndim)]
        if n == 0:
            return self.split([0] * chunks, dim)
        return self.split(builtins.max(-(-n // chunks), 1), dim)

    def __getitem__(self, key):
        return S.Index.apply(self, key=unwrap_key(key))


def _check_tensor_list(name: str, tensors: list) -> None:
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected a sequence of Tensors, but element {i} is {type(t).__name__}")
        check_same_device(name, tensors[0], t)


def _promoted(tensors: list) -> list:
    """The tensors cast to their common dtype (torch promotes cat/stack inputs)."""
    dtype = functools.reduce(dtypes.promote_types, (t.dtype for t in tensors))
    return [cast(t, dtype) for t in tensors]


def _is_legacy_empty(t: Tensor) -> bool:
    """A 1-D tensor with no elements, which torch's cat skips whatever the others' shape."""
    return t.ndim == 1 and t.shape[0] == 0


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all other sizes must match.

    torch's legacy rule: an empty 1-D tensor (shape (0,)) joins tensors of any shape; it adds
    nothing, but still takes part in the dtype promotion.
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    _check_tensor_list("cat", tensors)
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    skipped = [_is_legacy_empty(t) for t in tensors]
    if builtins.all(skipped):
        skipped = [False] * len(tensors)
    shaped = [t for t, skip in zip(tensors, skipped) if not skip]
    first = shaped[0]
    for t in shaped:
        if t.ndim != first.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {first.ndim} and {t.ndim}"
            )
    d = wrap_dim(dim, first.ndim)
    for i, (t, skip) in enumerate(zip(tensors, skipped)):
        if not skip:
            for axis, (want, got) in enumerate(zip(first.shape, t.shape)):
                if axis != d and want != got:
                    raise RuntimeError(
                        f"Sizes of tensors must match except in dimension {d}. Expected size "
                        f"{want} but got size {got} for tensor number {i} in the list."
                    )
    # The skipped empties become (…, 0, …) blocks of the others' shape, so the one Cat routes
    # their (empty) gradients back as for any other input.
    empty_block = first.shape[:d] + (0,) + first.shape[d + 1 :]
    joined = [t.reshape(empty_block) if skip else t for t, skip in zip(tensors, skipped)]
    return S.Cat.apply(*_promoted(joined), dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    _check_tensor_list("stack", tensors)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                f"entry 0 and {list(t.shape)} at entry {i}"
            )
    return S.Stack.apply(*_promoted(tensors), dim=wrap_dim(dim, tensors[0].ndim + 1))


def flatten(t: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return t.flatten(start_dim, end_dim)
