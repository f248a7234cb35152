"""DataLoader: iterate over a dataset in (shuffled) batches, as ``torch.utils.data.DataLoader``.

Each batch is made in three moves:

1. the batch sampler yields the indices of the next ``batch_size`` samples;
2. the dataset fetches them — with ONE call to ``dataset.__getitems__(indices)`` when the
   dataset defines it (torch 2.x's protocol; ``TensorDataset`` and ``Subset`` do), or else
   one ``dataset[i]`` per index;
3. ``collate_fn`` (default: ``default_collate``) stacks the samples into tensors.

Step 2's fast path is what makes training from an in-memory tensor cheap: a batch of
64 MNIST images is one fancy index per tensor instead of 64 Python calls and a stack.

All loading happens in the calling process: ``num_workers``, ``pin_memory`` and the other
multiprocessing options are accepted so that torch programs run unchanged, and ignored.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ...random import Generator
from .collate import default_collate
from .dataset import Dataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


class DataLoader:
    """Batches of ``dataset``: ``for x, y in DataLoader(ds, batch_size=64, shuffle=True): ...``.

    Shuffling draws one permutation per epoch from ``generator`` (a ``minicnn.Generator``;
    default: minicnn's global generator, so ``minicnn.manual_seed(s)`` fixes the order).
    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable[int] | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,  # this and the other process/memory options: accepted, ignored
        collate_fn: Callable[[Any], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | np.random.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ):
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."
            )
        if num_workers > 0:
            warnings.warn(
                f"DataLoader: num_workers={num_workers} is ignored; minicnn loads every batch in "
                f"the main process",
                stacklevel=2,
            )
        if batch_size is None:
            raise ValueError("DataLoader: batch_size=None (no automatic batching) is not supported by minicnn")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size = None  # the batch sampler decides (torch reports None too)
        else:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.generator = generator
        self.num_workers = num_workers

    def __iter__(self) -> Iterator[Any]:
        for indices in self.batch_sampler:
            yield self.collate_fn(self._fetch(indices))

    def _fetch(self, indices: Sequence[int]):
        """The samples at ``indices``: one ``__getitems__`` call if the dataset has it."""
        get_items = getattr(self.dataset, "__getitems__", None)
        if callable(get_items):
            return get_items(indices)
        return [self.dataset[i] for i in indices]

    def __len__(self) -> int:
        return len(self.batch_sampler)
