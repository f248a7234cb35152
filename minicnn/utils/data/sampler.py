"""Samplers: the order in which a DataLoader visits a dataset's indices, and how it groups them.

``SequentialSampler`` yields 0, 1, …, n-1; ``RandomSampler`` a fresh permutation per pass;
``BatchSampler`` cuts either stream into lists of ``batch_size`` indices.
"""
from __future__ import annotations

from typing import Any, Iterator, Sized

import numpy as np

from ...random import Generator, default_generator


def numpy_generator(generator: Any) -> np.random.Generator:
    """The NumPy Generator behind a minicnn.Generator; minicnn's global one for None.

    The global generator is looked up at each call, not once: ``minicnn.manual_seed``
    replaces it, and a loader built before the seed call must still follow the seed.
    """
    if generator is None:
        return default_generator()
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"expected a minicnn.Generator (or None), got {type(generator).__name__}")


class Sampler:
    """Base class: iterating gives dataset indices."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, …, len(data_source) - 1."""

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random permutation of the indices on every pass, drawn from ``generator``.

    Seeding minicnn (or the generator) once makes the whole sequence of epochs reproducible;
    successive epochs still differ because the generator advances.
    """

    def __init__(self, data_source: Sized, generator: Generator | np.random.Generator | None = None):
        self.data_source = data_source
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        return iter(numpy_generator(self.generator).permutation(len(self.data_source)).tolist())

    def __len__(self) -> int:
        return len(self.data_source)


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``; the last may be short.

    With ``drop_last`` the short last batch is dropped, so ``len`` is ``n // batch_size``
    instead of ``ceil(n / batch_size)``.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
