"""minicnn.save / minicnn.load: pickle-free .npz checkpoints, written atomically."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch

import minicnn
import minicnn.serialization.atomic as atomic
import minicnn.serialization.npz as npz
from minicnn.serialization import CheckpointError
from parity import rand


def assert_identical(got, want, where="obj"):
    """Same types (Tensor vs ndarray, tuple vs list, NumPy scalar vs Python number), dtypes and values."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} instead of {type(want).__name__}"
    if isinstance(want, minicnn.Tensor):
        assert got.requires_grad == want.requires_grad, f"{where}: requires_grad"
        got, want = got.numpy(), want.numpy()
    if isinstance(want, (np.ndarray, np.generic)):
        assert (got.dtype, got.shape) == (want.dtype, want.shape), f"{where}: dtype/shape"
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, dict):
        assert [(type(k), k) for k in got] == [(type(k), k) for k in want], f"{where}: keys {list(got)} vs {list(want)}"
        for key in want:
            assert_identical(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{where}: length"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_identical(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), where
    else:
        assert got == want, f"{where}: {got!r} vs {want!r}"


def _checkpoint_like():
    """A nested structure with every kind of leaf a training checkpoint holds."""
    return {
        "model": {
            "conv.weight": minicnn.tensor(rand(2, 1, 3, 3, dtype=np.float32)),
            "fc.bias": minicnn.tensor(rand(4), requires_grad=True),
            "bn.num_batches_tracked": minicnn.tensor(7),
            "mask": minicnn.tensor(rand(3) > 0),
        },
        "optimizer": {"state": {0: {"step": 3, "exp_avg": minicnn.tensor(rand(4))}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0]}]},
        "arrays": [rand(2, 2, dtype=np.float32), rand(3), np.arange(4), rand(2) > 0, np.arange(3, dtype=np.uint8),
                   rand(2).astype(np.float16), np.array(2.5), np.zeros((0, 3))],
        "numpy_scalars": (np.float32(1.5), np.float64(-2.25), np.int64(3), np.bool_(True)),
        "numbers": [0, -3, 2**100, 1.0 / 3, float("inf"), -float("inf"), float("nan"), True, False, None],
        "text": ["", "Grüße ✓", 'quotes " and \\ backslash'],
        "keys": {1: "int", 2.5: "float", (1, "a"): "tuple", None: "none", False: "bool"},
        "empties": [{}, [], ()],
        "pcg64": np.random.default_rng(1).bit_generator.state,  # holds 128-bit Python ints
        "mt19937": np.random.MT19937(2).state,  # holds a uint32 key array
        "epoch": 12,
        "config": {"batch_size": 64, "algorithm": "im2col", "milestones": [3, 7]},
    }


def test_nested_structures_round_trip_with_types_and_dtypes(tmp_path):
    obj = _checkpoint_like()
    minicnn.save(obj, tmp_path / "ckpt.npz")
    assert_identical(minicnn.load(tmp_path / "ckpt.npz"), obj)


@pytest.mark.parametrize("leaf", [minicnn.tensor([1.0, 2.0]), 3, "just a string", None, [1, (2, 3)]],
                         ids=["tensor", "int", "str", "none", "list"])
def test_any_supported_value_can_be_the_root(leaf, tmp_path):
    minicnn.save(leaf, str(tmp_path / "x.ckpt"))
    assert_identical(minicnn.load(str(tmp_path / "x.ckpt")), leaf)


def test_rng_states_restore_the_same_stream(tmp_path):
    minicnn.manual_seed(11)
    minicnn.randn(5)
    generator = np.random.default_rng(3)
    generator.random(7)
    minicnn.save({"minicnn": minicnn.get_rng_state(), "numpy": generator.bit_generator.state}, tmp_path / "rng.npz")
    expected_minicnn, expected_numpy = minicnn.randn(4).numpy(), generator.random(4)

    states = minicnn.load(tmp_path / "rng.npz")
    minicnn.manual_seed(0)
    minicnn.set_rng_state(states["minicnn"])
    restored = np.random.default_rng()
    restored.bit_generator.state = states["numpy"]
    np.testing.assert_array_equal(minicnn.randn(4).numpy(), expected_minicnn)
    np.testing.assert_array_equal(restored.random(4), expected_numpy)


def test_the_file_is_a_plain_npz_at_exactly_the_given_path(tmp_path):
    minicnn.save({"w": minicnn.tensor(rand(3))}, tmp_path / "model.ckpt")
    assert os.listdir(tmp_path) == ["model.ckpt"]  # no ".npz" appended, no leftovers
    with np.load(tmp_path / "model.ckpt", allow_pickle=False) as archive:  # NumPy alone can read it
        manifest = json.loads(archive["__minicnn__"].tobytes())
        assert manifest["format"] == "minicnn-checkpoint"
        array_name = manifest["root"]["dict"][0][1]["tensor"]
        assert archive[array_name].shape == (3,)


def test_map_location_cpu_and_weights_only_are_accepted(tmp_path):
    minicnn.save({"w": minicnn.tensor(rand(2), requires_grad=True)}, tmp_path / "c.npz")
    loaded = minicnn.load(tmp_path / "c.npz", map_location="cpu", weights_only=True)
    assert loaded["w"].device == "cpu" and loaded["w"].requires_grad and loaded["w"].is_leaf


def test_new_file_gets_the_permissions_a_plain_open_would_give(tmp_path):
    with open(tmp_path / "reference", "wb"):
        pass
    minicnn.save([1], tmp_path / "ckpt.npz")
    assert os.stat(tmp_path / "ckpt.npz").st_mode == os.stat(tmp_path / "reference").st_mode


# ---------------------------------------------------------------------- atomic writes
def _crash_mid_write(file, **arrays):
    file.write(b"PK\x03\x04 half an archive")
    raise OSError("No space left on device")


def _crash_at_rename(src, dst):
    raise OSError("rename failed")


@pytest.mark.parametrize("target, crash", [("savez", _crash_mid_write), ("replace", _crash_at_rename)])
def test_a_crash_during_save_leaves_the_previous_checkpoint_intact(target, crash, tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    previous = {"epoch": 1, "w": minicnn.tensor(rand(3))}
    minicnn.save(previous, path)
    monkeypatch.setattr(npz.np if target == "savez" else atomic.os, target, crash)
    with pytest.raises(OSError, match="No space left on device|rename failed"):
        minicnn.save({"epoch": 2, "w": minicnn.tensor(rand(3))}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # the temporary file was removed
    assert_identical(minicnn.load(path), previous)


def test_an_interrupt_during_save_also_cleans_up(tmp_path, monkeypatch):
    def interrupted(file, **arrays):
        raise KeyboardInterrupt("interrupted mid-write")

    monkeypatch.setattr(npz.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt, match="interrupted mid-write"):
        minicnn.save([1, 2], tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == []


def test_the_data_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    minicnn.save({"x": 1}, tmp_path / "ckpt.npz")
    assert events[:2] == ["fsync", "replace"]


def test_an_unsupported_object_fails_before_anything_is_written(tmp_path):
    path = tmp_path / "ckpt.npz"
    minicnn.save({"epoch": 1}, path)
    with pytest.raises(TypeError, match=r"cannot store obj\['config'\]\['fn'\], an object of type function"):
        minicnn.save({"epoch": 2, "config": {"fn": lambda x: x}}, path)
    assert minicnn.load(path) == {"epoch": 1} and os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize("obj, message", [
    ({"s": {1, 2}}, r"cannot store obj\['s'\], an object of type set"),
    ([np.array([object()])], r"cannot store obj\[0\]: arrays of Python objects need pickle"),
    ({frozenset(): 1}, "has a key of type frozenset"),
    (torch.zeros(2), "an object of type Tensor"),  # a torch tensor is not a minicnn one
])
def test_unsupported_values_raise_type_error_naming_where(obj, message, tmp_path):
    with pytest.raises(TypeError, match=message):
        minicnn.save(obj, tmp_path / "x.npz")


def test_save_and_load_want_a_path():
    with pytest.raises(TypeError, match="minicnn.save: expected a file path"):
        minicnn.save({}, 3)
    with pytest.raises(TypeError, match="minicnn.load: expected a file path"):
        minicnn.load(None)


# ---------------------------------------------------------------------- unreadable files
def _saved(tmp_path, name="ckpt.npz"):
    path = tmp_path / name
    minicnn.save({"w": minicnn.tensor(np.zeros(2000)), "epoch": 3}, path)
    return path


@pytest.mark.parametrize("keep", [0.5, 0.9, 10])
def test_a_truncated_file_is_reported_as_truncated(keep, tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if keep < 1 else keep])
    with pytest.raises(CheckpointError, match=rf"minicnn.load: {path} is truncated or corrupt \(BadZipFile"):
        minicnn.load(path)


def test_a_flipped_byte_in_an_array_is_reported_as_corrupt(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[data.index(bytes(64)) + 32] ^= 0xFF  # inside the zeros of "w": its CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=rf"{path} is truncated or corrupt .*CRC"):
        minicnn.load(path)


def test_a_foreign_npz_is_not_a_minicnn_checkpoint(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=rand(3), bias=rand(2))
    expected = rf"{path} is not a minicnn checkpoint \(no __minicnn__ manifest; members: weights, bias\)"
    with pytest.raises(CheckpointError, match=expected):
        minicnn.load(path)


@pytest.mark.parametrize("content, message", [
    (b"epoch,loss\n1,0.5\n", r"is not a file minicnn can read \(neither a .npz / torch .pt zip archive nor "
                               r".safetensors; starts with b'epoc'\)"),
    (b"", r"is empty \(0 bytes\)"),
])
def test_a_non_npz_file_is_refused(content, message, tmp_path):
    path = tmp_path / "ckpt.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"minicnn.load: {path} {message}"):
        minicnn.load(path)


def _write_manifest(path, manifest_bytes, **arrays):
    np.savez(path, __minicnn__=np.frombuffer(manifest_bytes, dtype=np.uint8), **arrays)


@pytest.mark.parametrize("manifest, message", [
    (b"{not json", "has a corrupt __minicnn__ manifest"),
    (b'{"format": "something-else", "root": 1}', "is not a minicnn manifest"),
    (b'{"format": "minicnn-checkpoint", "version": 99, "root": 1}', "written by a newer minicnn"),
    (b'{"format": "minicnn-checkpoint", "version": 1, "root": {"tensor": "a7"}}', "refers to a missing array 'a7'"),
    (b'{"format": "minicnn-checkpoint", "version": 1, "root": {"frozenset": []}}', "unknown node 'frozenset'"),
])
def test_a_damaged_manifest_is_reported(manifest, message, tmp_path):
    path = tmp_path / "ckpt.npz"
    _write_manifest(path, manifest)
    with pytest.raises(CheckpointError, match=message):
        minicnn.load(path)


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No such file or directory: .*nope\.npz"):
        minicnn.load(tmp_path / "nope.npz")
