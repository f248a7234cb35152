"""Datasets, samplers and the DataLoader, as ``torch.utils.data``.

``from minicnn.utils.data import DataLoader, Dataset, TensorDataset`` and iterate:
``for images, labels in DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)``.
Datasets that define ``__getitems__(indices)`` are fetched a whole batch per call (see
:mod:`.dataloader`).
"""
from .collate import StackedSamples, default_collate
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "RandomSampler", "Sampler",
    "SequentialSampler", "StackedSamples", "Subset", "TensorDataset", "default_collate", "random_split",
]
