"""DataLoader: iterate over a dataset in (shuffled) batches, as ``torch.utils.data.DataLoader``.

Each batch is made in three moves:

1. the batch sampler yields the indices of the next ``batch_size`` samples;
2. the dataset fetches them — with ONE call to ``dataset.__getitems__(indices)`` when the
   dataset defines it (torch 2.x's protocol; ``TensorDataset`` and ``Subset`` do), or else
   one ``dataset[i]`` per index;
3. ``collate_fn`` (default: ``default_collate``) stacks the samples into tensors.

Step 2's fast path is what makes training from an in-memory tensor cheap: a batch of
64 MNIST images is one fancy index per tensor instead of 64 Python calls and a stack.

All loading happens in the calling process, in order. torch's process and memory options
are accepted, so that torch programs run unchanged, and checked as torch checks them (a
negative ``num_workers`` or ``timeout``, ``persistent_workers`` or ``prefetch_factor``
without workers are errors), but they do not change how batches are made:

* ``num_workers > 0`` does not start worker processes: batches are made in the main process
  (a UserWarning says so once per loader). The batches, their order and the random draws
  are the same as with ``num_workers=0`` — in torch too, for a dataset whose ``__getitem__``
  draws no random numbers of its own;
* ``worker_init_fn`` is therefore never called, and ``persistent_workers``,
  ``prefetch_factor``, ``multiprocessing_context``, ``timeout`` and ``in_order`` have
  nothing to act on;
* ``pin_memory`` / ``pin_memory_device`` pin nothing: batches stay ordinary NumPy arrays
  (``.to("cuda")`` copies them from pageable memory).
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
        num_workers: int = 0,  # this and the other process/memory options: see the module docstring
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
        pin_memory_device: str = "",
        in_order: bool = True,
    ):
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        if num_workers > 0:
            warnings.warn(
                f"DataLoader: num_workers={num_workers} starts no worker processes in minicnn; every "
                f"batch is loaded in the main process (same batches, same order)",
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


def _check_worker_options(num_workers: int, timeout: float, prefetch_factor: int | None,
                          persistent_workers: bool) -> None:
    """torch's checks of the multiprocessing options, with its messages (a program that runs
    here must not fail there)."""
    if num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 "
            "to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
