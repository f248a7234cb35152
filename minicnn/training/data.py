"""MNIST as the training loop wants it: normalised float32 batches, fetched fast.

Without augmentation, the uint8 images are converted ONCE to a normalised float32 array
(N, 1, 28, 28) and wrapped in a TensorDataset, so each batch is one fancy-indexing gather
instead of N per-sample Python transforms. With augmentation, every sample must be
transformed differently each epoch, so that path goes through per-sample transforms.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..random import Generator
from ..creation import from_numpy
from ..tensor import Tensor
from ..utils.data import DataLoader, Dataset, TensorDataset
from ..vision import datasets, transforms
from .config import DataSource, TrainConfig

# Mean and standard deviation of the 60,000 MNIST training pixels, scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
EVAL_BATCH_SIZE = 500  # no graph is kept in evaluation, so batches can be larger

Split = tuple[np.ndarray, np.ndarray]  # uint8 images (N, 28, 28), int64 labels (N,)


def as_numpy(values) -> np.ndarray:
    """A dataset's ``.data`` / ``.targets`` as a NumPy array, whether stored as Tensor or array."""
    return values.numpy() if isinstance(values, Tensor) else np.asarray(values)


def normalise_images(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) in [0, 255] -> float32 (N, 1, 28, 28), zero mean, unit variance."""
    scaled = images.astype(np.float32) / np.float32(255)
    return ((scaled - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD))[:, None, :, :]


def load_mnist(source: DataSource, train: bool) -> Split:
    """The raw training or test split."""
    kwargs = {} if source.root is None else {"root": source.root}
    dataset = datasets.MNIST(train=train, download=source.download, **kwargs)
    return as_numpy(dataset.data), as_numpy(dataset.targets).astype(np.int64)


class AugmentedDigits(Dataset):
    """uint8 digits (N, 28, 28) passed one by one through random transforms -> (1, 28, 28)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = images
        self.labels = labels
        # Light geometry only: a digit rotated by 10 degrees or shifted by 2 pixels is still
        # the same digit; the Normalize matches the non-augmented path.
        self.transform = transforms.Compose([
            transforms.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.9, 1.1)),
            transforms.ToTensor(),
            transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        ])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), int(self.labels[index])


def normalised_dataset(images: np.ndarray, labels: np.ndarray) -> TensorDataset:
    """Images normalised once, with their labels, as one TensorDataset (the fast path)."""
    return TensorDataset(from_numpy(normalise_images(images)), from_numpy(labels))


@dataclass
class MnistLoaders:
    train: DataLoader
    val: DataLoader
    val_name: str        # "test" or "held-out", printed beside every validation number
    generator: Generator  # the training loader's shuffling stream (checkpointed)


def split_train_val(config: TrainConfig, images: np.ndarray,
                    labels: np.ndarray) -> tuple[Split, Split | None]:
    """Apply ``subset``, then hold out the LAST ``val_split`` images: (train, val or None)."""
    if config.subset is not None:
        images, labels = images[: config.subset], labels[: config.subset]
    if config.val_split == 0:
        return (images, labels), None
    if config.val_split >= len(labels):
        raise ValueError(
            f"val split: cannot hold out {config.val_split} of {len(labels)} training images"
        )
    cut = len(labels) - config.val_split
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])


def build_loaders(config: TrainConfig, source: DataSource) -> MnistLoaders:
    """Training loader (shuffled by its own seeded generator) and validation loader.

    Validation is the held-out tail of the training set when ``val_split > 0``; otherwise
    it is the standard 10,000-image test set, as most MNIST tutorials do.
    """
    (train_images, train_labels), held_out = split_train_val(config, *load_mnist(source, train=True))
    if held_out is None:
        val_images, val_labels = load_mnist(source, train=False)
        val_name = "test"
    else:
        (val_images, val_labels), val_name = held_out, "held-out"
    train_set = (AugmentedDigits(train_images, train_labels) if config.augment
                 else normalised_dataset(train_images, train_labels))
    # Its own stream, seeded apart from the global one: seeding both with `seed` would replay
    # the weight-init draws as shuffling draws.
    generator = Generator().manual_seed(config.seed + 1)
    return MnistLoaders(
        train=DataLoader(train_set, batch_size=config.batch_size, shuffle=True, generator=generator),
        val=DataLoader(normalised_dataset(val_images, val_labels), batch_size=EVAL_BATCH_SIZE),
        val_name=val_name,
        generator=generator,
    )


def mnist_test_loader(source: DataSource) -> DataLoader:
    """The standard MNIST test set, normalised, in fixed order."""
    return DataLoader(normalised_dataset(*load_mnist(source, train=False)),
                      batch_size=EVAL_BATCH_SIZE)
