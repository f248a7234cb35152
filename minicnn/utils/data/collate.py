"""Collation: turn a list of samples into one batch, with torch's ``default_collate`` rules.

Samples are collated by the type of the first one, recursively:

=================================  ==================================================
sample element                     batch
=================================  ==================================================
Tensor of shape S                  Tensor of shape (B, *S), same dtype (``stack``)
ndarray of shape S                 Tensor of shape (B, *S), same dtype
NumPy scalar (np.float32 …)        Tensor of shape (B,), same dtype
Python float                       float64 Tensor (B,)  — torch's rule, not the default dtype
Python int / bool                  int64 / bool Tensor (B,)
str, bytes                         the list unchanged
dict                               dict of collated values, key by key
tuple or list                      list of collated columns (namedtuple: a namedtuple)
=================================  ==================================================

A dataset's ``__getitems__`` may return ``StackedSamples`` — a batch already stored column by
column. It still reads as a sequence of samples (for custom ``collate_fn``s), and
``default_collate`` returns its columns without touching a single sample.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ... import dtypes
from ...creation import tensor
from ...tensor import Tensor, stack

_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


class StackedSamples(Sequence):
    """A batch of B samples stored as columns: ``columns[k]`` has shape (B, ...).

    ``batch[i]`` is the tuple sample ``(columns[0][i], columns[1][i], ...)``.
    """

    def __init__(self, columns: tuple[Tensor, ...]):
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, i: int) -> tuple[Tensor, ...]:
        return tuple(Tensor(column.array[i, ...]) for column in self.columns)  # ``...``: 0-d array, not a scalar


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch (see the module docstring for the rules)."""
    if isinstance(batch, StackedSamples):  # already stacked by __getitems__
        return list(batch.columns)
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OSUV":  # objects and strings have no tensor dtype
            raise TypeError(_ERROR.format(elem.dtype))
        return stack([Tensor(a) for a in batch])
    if isinstance(elem, (np.bool_, np.number)):  # before float: np.float64 is a float too
        return Tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=dtypes.float64)
    if isinstance(elem, int):  # bool included: tensor() gives bool for bools, int64 for ints
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(column)) for column in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(column)) for column in zip(*batch)]
    raise TypeError(_ERROR.format(type(elem)))
