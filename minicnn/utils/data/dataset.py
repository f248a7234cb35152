"""Datasets: indexable collections of samples, as ``torch.utils.data``.

A map-style dataset defines ``__len__`` and ``__getitem__(i) -> sample``. It may also define
``__getitems__(indices) -> samples`` (torch 2.x's batched-fetch protocol): the DataLoader
then fetches a whole batch with one call instead of one ``__getitem__`` per sample.
``TensorDataset`` does so with a single fancy index per tensor: an MNIST epoch (938 batches
of 64) costs about 2 000 indexing operations instead of 60 000 ``__getitem__`` calls and
938 stacks of 64 samples each.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Sequence

import numpy as np

from ...backends import array_module
from ...random import Generator
from ...creation import from_numpy
from ...tensor import Tensor
from .collate import StackedSamples
from .sampler import numpy_generator


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is ``(tensors[0][i], tensors[1][i], ...)``; all tensors share their first dim.

    NumPy arrays are accepted and wrapped without copying. A batch fetched through
    ``__getitems__`` costs one fancy index per tensor.
    """

    def __init__(self, *tensors: Tensor | np.ndarray):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        wrapped = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = from_numpy(t)
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} is a {type(t).__name__}, expected a Tensor or ndarray"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a 0-d tensor; samples are taken along dim 0")
            wrapped.append(t)
        lengths = [len(t) for t in wrapped]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in wrapped)
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: first dims {lengths} (shapes {shapes})"
            )
        self.tensors = tuple(wrapped)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        # Samples are plain (graph-free) views: datasets hold data, not parameters. The
        # trailing ``...`` keeps a 1-D tensor's element a 0-d array rather than a NumPy scalar.
        return tuple(Tensor(t.array[index, ...]) for t in self.tensors)

    def __getitems__(self, indices: Sequence[int]) -> StackedSamples:
        """The samples at ``indices``, already stacked: each column has shape (len(indices), ...)."""
        rows = np.asarray(indices, dtype=np.int64)
        # asarray: a no-op for NumPy data, a host-to-device copy of the indices for CuPy data.
        return StackedSamples(tuple(Tensor(t.array[array_module(t.array).asarray(rows)]) for t in self.tensors))


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: Sequence[int]):
        parent_indices = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(parent_indices)
        return [self.dataset[i] for i in parent_indices]


class ConcatDataset(Dataset):
    """Several datasets one after the other: ``len`` is the sum, index i finds its part by bisection."""

    def __init__(self, datasets: Sequence[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        if index < 0:
            if -index > len(self):
                raise IndexError(f"ConcatDataset: index {index} out of range for length {len(self)}")
            index += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} out of range for length {len(self)}")
        start = self.cumulative_sizes[part - 1] if part > 0 else 0
        return self.datasets[part][index - start]


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: Generator | np.random.Generator | None = None,
) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping ``Subset``s of the given lengths.

    ``lengths`` may be fractions summing to 1: each split gets ``floor(frac * len)`` samples
    and the remainder is dealt out one by one from the first split on (torch's rule). The
    permutation is drawn from ``generator`` (default: minicnn's global generator).
    """
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        lengths = _lengths_from_fractions(lengths, len(dataset))
    if sum(lengths) != len(dataset):
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of "
            f"the input dataset ({len(dataset)})!"
        )
    order = numpy_generator(generator).permutation(len(dataset)).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, order[end - n : end]) for end, n in zip(ends, lengths)]


def _lengths_from_fractions(fractions: list[float], n: int) -> list[int]:
    for i, frac in enumerate(fractions):
        if not 0 <= frac <= 1:
            raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1 (got {frac})")
    lengths = [math.floor(n * frac) for frac in fractions]
    for i in range(n - sum(lengths)):  # hand out the samples lost to rounding down
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.")
    return lengths

