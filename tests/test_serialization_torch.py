"""torch's .pt and .safetensors files, both ways, with minicnn running where torch cannot be imported.

The test process uses real torch to write and read; every minicnn side runs in a subprocess
whose ``sys.meta_path`` starts with a finder that raises on ``import torch`` — so passing
proves minicnn reads and writes these formats without torch, not through it.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minicnn
from minicnn.serialization import CheckpointError, UnsafeCheckpointError
from torchless import run_without_torch

def test_the_blocker_really_blocks():
    with pytest.raises(AssertionError, match="import of torch blocked"):
        run_without_torch("import torch")


DTYPES = [torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.int16, torch.int8,
          torch.uint8, torch.bool]


def _sample(dtype, *shape):
    values = torch.randn(*shape) * 50
    return values > 0 if dtype is torch.bool else values.to(dtype)


def _torch_checkpoint():
    """What a torch training script saves: state dicts (OrderedDicts), numbers, strings, a tuple."""
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Linear(4, 2))
    model[1].running_mean.uniform_()
    return {
        "model": model.state_dict(),
        "tensors": {str(dtype).removeprefix("torch."): _sample(dtype, 2, 3) for dtype in DTYPES},
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "empty": torch.zeros(0, 4),
        "epoch": 7, "best": 0.9875, "big": 2**80, "name": "run-1", "betas": (0.9, 0.999),
        "milestones": [3, 7], "nothing": None, "flag": True, "device": torch.device("cpu"),
    }


def _assert_same(mine, theirs, where="obj"):
    """minicnn's values (Tensor / ndarray / Python) equal torch's, dtype and shape included."""
    if isinstance(theirs, torch.Tensor):
        array = mine.numpy() if isinstance(mine, minicnn.Tensor) else np.asarray(mine)
        expected = theirs.detach().numpy()
        assert (array.dtype, array.shape) == (expected.dtype, expected.shape), where
        np.testing.assert_array_equal(array, expected, err_msg=where)
    elif isinstance(theirs, dict):
        assert list(mine) == list(theirs), where
        for key in theirs:
            _assert_same(mine[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(mine) is type(theirs) and len(mine) == len(theirs), where
        for i, (m, t) in enumerate(zip(mine, theirs)):
            _assert_same(m, t, f"{where}[{i}]")
    elif isinstance(theirs, torch.device):
        assert str(mine) == str(theirs), where
    else:
        assert type(mine) is type(theirs) and mine == theirs, f"{where}: {mine!r} vs {theirs!r}"


# ---------------------------------------------------------------------- torch -> minicnn
def test_minicnn_reads_a_torch_checkpoint_without_torch(tmp_path):
    checkpoint = _torch_checkpoint()
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    run_without_torch("""
        obj = minicnn.load(src)
        assert type(obj["model"]).__name__ == "OrderedDict"
        assert isinstance(obj["model"]["0.weight"], minicnn.Tensor)
        assert obj["device"] == minicnn.device("cpu")
        obj["device"] = "cpu"
        minicnn.save(obj, out)  # minicnn's own .npz: read back below, in the process that has torch
    """, src=tmp_path / "ckpt.pt", out=tmp_path / "seen.npz")
    seen = minicnn.load(tmp_path / "seen.npz")
    seen["device"] = torch.device(seen["device"])
    _assert_same(seen, checkpoint)


def test_a_state_dict_saved_by_torch_loads_into_the_same_minicnn_model(tmp_path):
    torch_model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                      torch.nn.Linear(4 * 6 * 6, 3))
    torch.save(torch_model.state_dict(), tmp_path / "model.pt")
    x = torch.randn(2, 1, 8, 8)
    np.save(tmp_path / "x.npy", x.numpy())
    run_without_torch("""
        import minicnn.nn as nn
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
        model.load_state_dict(minicnn.load(src))
        np.save(out, model(minicnn.from_numpy(np.load(x))).detach().numpy())
    """, src=tmp_path / "model.pt", x=tmp_path / "x.npy", out=tmp_path / "y.npy")
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), torch_model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_non_contiguous_tensors_and_shared_storages_read_as_torch_wrote_them(tmp_path):
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    obj = {"base": base, "transposed": base.t(), "strided": base[1:, ::2], "row": base[2],
           "flat_view": base.view(-1)[5:17], "expanded": torch.randn(3, 1).expand(3, 4)}
    torch.save(obj, tmp_path / "views.pt")
    out = run_without_torch("""
        import json
        obj = minicnn.load(src)
        shares = {k: bool(np.shares_memory(obj["base"].numpy(), v.numpy())) for k, v in obj.items()}
        obj["base"].numpy()[2, 0] = -1.0  # one storage: the change shows through every view of it
        print(json.dumps({"shares": shares, "row0": float(obj["row"].numpy()[0]),
                          "t": float(obj["transposed"].numpy()[0, 2])}))
        minicnn.save(obj, out)
    """, src=tmp_path / "views.pt", out=tmp_path / "seen.npz")
    report = json.loads(out)
    assert report["shares"] == {"base": True, "transposed": True, "strided": True, "row": True,
                                "flat_view": True, "expanded": False}
    assert report["row0"] == report["t"] == -1.0
    seen = minicnn.load(tmp_path / "seen.npz")
    base[2, 0] = -1.0
    _assert_same(seen, obj)


# ---------------------------------------------------------------------- minicnn -> torch
def test_torch_reads_what_minicnn_wrote_without_torch(tmp_path):
    run_without_torch("""
        from collections import OrderedDict
        rng = np.random.default_rng(0)
        state = OrderedDict()
        for name in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"):
            values = rng.standard_normal((2, 3)) * 50
            state[name] = minicnn.Tensor(values > 0 if name == "bool" else values.astype(name))
        state["scalar"] = minicnn.tensor(3.5)
        state["empty"] = minicnn.zeros(0, 4)
        state["param"] = minicnn.nn.Parameter(minicnn.randn(3).array)
        state["grad"] = minicnn.randn(2, requires_grad=True)
        checkpoint = {"model": state, "epoch": 4, "lr": 0.125, "big": -2**90, "tag": "Grüße",
                      "betas": (0.9, 0.999), "steps": [1, 70000, -3], "none": None,
                      "np_scalar": np.float32(1.5), "array": np.arange(5, dtype=np.int16),
                      "device": minicnn.device("cpu"), "keys": {1: "a", (2, "b"): "c"}}
        minicnn.save(checkpoint, out)
        checkpoint["np_scalar"] = 1.5
        checkpoint["device"] = "cpu"
        minicnn.save(checkpoint, mirror)
    """, out=tmp_path / "mini.pt", mirror=tmp_path / "mirror.npz")
    loaded = torch.load(tmp_path / "mini.pt", weights_only=True)
    expected = minicnn.load(tmp_path / "mirror.npz")
    assert type(loaded["model"]) is OrderedDict
    assert isinstance(loaded["model"]["param"], torch.nn.Parameter) and loaded["model"]["param"].requires_grad
    assert loaded["model"]["grad"].requires_grad and not loaded["model"]["float32"].requires_grad
    assert loaded["device"] == torch.device("cpu") and loaded["np_scalar"] == 1.5
    loaded["device"] = "cpu"
    assert loaded["keys"] == {1: "a", (2, "b"): "c"}
    for name, value in expected["model"].items():
        theirs = loaded["model"][name]
        assert theirs.dtype == getattr(torch, name) if name in (
            "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool") else True
        _assert_same(value, theirs, name)
    _assert_same(expected["array"], loaded["array"])
    for key in ("epoch", "lr", "big", "tag", "betas", "steps", "none"):
        assert loaded[key] == expected[key] and type(loaded[key]) is type(expected[key]), key
    # mmap=True views each storage in place: it needs the 64-byte alignment torch writes
    mapped = torch.load(tmp_path / "mini.pt", weights_only=True, mmap=True)
    _assert_same(expected["model"]["float64"], mapped["model"]["float64"])


def test_views_minicnn_writes_share_one_storage_in_torch(tmp_path):
    run_without_torch("""
        base = np.arange(24.0).reshape(4, 6)
        minicnn.save({"base": minicnn.Tensor(base), "t": minicnn.Tensor(base.T),
                      "strided": minicnn.Tensor(base[1:, ::2]), "reversed": minicnn.Tensor(base[::-1])}, out)
    """, out=tmp_path / "views.pt")
    loaded = torch.load(tmp_path / "views.pt", weights_only=True)
    base = torch.arange(24.0, dtype=torch.float64).reshape(4, 6)
    for name, expected in (("base", base), ("t", base.t()), ("strided", base[1:, ::2]), ("reversed", base.flip(0))):
        assert torch.equal(loaded[name], expected), name
    pointer = loaded["base"].untyped_storage().data_ptr()
    assert loaded["t"].untyped_storage().data_ptr() == pointer
    assert loaded["strided"].untyped_storage().data_ptr() == pointer and loaded["strided"].storage_offset() == 6
    assert loaded["reversed"].untyped_storage().data_ptr() != pointer  # negative strides: copied


def test_a_model_trained_in_minicnn_runs_in_torch(tmp_path):
    run_without_torch("""
        import minicnn.nn as nn
        minicnn.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
        model(minicnn.randn(4, 1, 6, 6))  # moves BatchNorm's running statistics
        model.eval()
        x = minicnn.randn(2, 1, 6, 6)
        np.save(x_path, x.numpy())
        np.save(y_path, model(x).detach().numpy())
        minicnn.save(model.state_dict(), out)
    """, out=tmp_path / "m.pt", x_path=tmp_path / "x.npy", y_path=tmp_path / "y.npy")
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3))
    model.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    model.eval()
    y = model(torch.from_numpy(np.load(tmp_path / "x.npy"))).detach().numpy()
    np.testing.assert_allclose(y, np.load(tmp_path / "y.npy"), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- safetensors
def test_safetensors_both_ways_without_torch(tmp_path):
    from safetensors.torch import load_file, save_file

    state = {str(dtype).removeprefix("torch."): _sample(dtype, 3, 2) for dtype in DTYPES}
    save_file(state, tmp_path / "torch.safetensors")
    run_without_torch("""
        state = minicnn.load(src)
        assert all(isinstance(t, minicnn.Tensor) for t in state.values())
        minicnn.save(state, copy)
        minicnn.save({k: v for k, v in state.items()}, mirror)
    """, src=tmp_path / "torch.safetensors", copy=tmp_path / "mini.safetensors", mirror=tmp_path / "seen.npz")
    _assert_same(dict(sorted(minicnn.load(tmp_path / "seen.npz").items())), dict(sorted(state.items())))
    back = load_file(tmp_path / "mini.safetensors")
    assert set(back) == set(state)  # (safetensors chooses the order of names in its header)
    for name, tensor in state.items():
        assert back[name].dtype == tensor.dtype and torch.equal(back[name], tensor), name


def test_safetensors_holds_only_a_flat_dict_of_tensors(tmp_path):
    with pytest.raises(TypeError, match="holds one mapping of names to tensors"):
        minicnn.save([minicnn.zeros(2)], tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="holds only tensors, but 'epoch' is a int"):
        minicnn.save({"w": minicnn.zeros(2), "epoch": 3}, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_a_missing_safetensors_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # makes `import safetensors.numpy` fail
    with pytest.raises(ImportError, match=r"pip install 'minicnn\[safetensors\]'"):
        minicnn.save({"w": minicnn.zeros(2)}, tmp_path / "x.safetensors")


# ---------------------------------------------------------------------- refusing unsafe files
class Payload:
    """A class torch pickles by reference (its module and name) — a weights-only load refuses it."""

    def __init__(self):
        self.x = 1


def _torch_archive(path, data_pkl: bytes, records=(), byteorder="little"):
    """A zip in torch's layout around a hand-made data.pkl."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", byteorder)
        for name, payload in records:
            archive.writestr(f"archive/{name}", payload)
        archive.writestr("archive/version", "3\n")


class RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4")  # torch's, about the file
@pytest.mark.parametrize("protocol", [2, 4])
def test_a_reduce_to_os_system_is_refused_and_nothing_runs(protocol, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    _torch_archive(path, pickle.dumps({"w": RunsACommand(f"touch {marker}")}, protocol=protocol))
    with pytest.raises(UnsafeCheckpointError, match=r"refers to the global (posix|os|nt)\.system, which a "
                                                    r"weights-only load does not admit.*nothing from the file was run"):
        minicnn.load(path)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):  # torch refuses it too
        torch.load(path, weights_only=True)
    assert not marker.exists()


def test_a_pickled_class_is_refused_by_name(tmp_path):
    path = tmp_path / "object.pt"
    torch.save({"w": torch.zeros(2), "payload": Payload()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"the global test_serialization_torch\.Payload"):
        minicnn.load(path)


@pytest.mark.parametrize("module, name", [("builtins", "eval"), ("builtins", "getattr"), ("subprocess", "Popen"),
                                          ("torch", "load"), ("numpy", "load")])
def test_every_global_outside_the_list_is_refused(module, name, tmp_path):
    path = tmp_path / "evil.pt"
    _torch_archive(path, b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n.")
    with pytest.raises(UnsafeCheckpointError, match=rf"the global {module}\.{name}"):
        minicnn.load(path)


def _tampered(tmp_path, old: bytes, new: bytes):
    """torch.save of arange(4), with bytes of its data.pkl replaced."""
    path = tmp_path / "t.pt"
    torch.save(torch.arange(4.0), path)
    with zipfile.ZipFile(path) as archive:
        records = {name: archive.read(name) for name in archive.namelist()}
    pkl_name = next(name for name in records if name.endswith("data.pkl"))
    assert old in records[pkl_name]
    records[pkl_name] = records[pkl_name].replace(old, new, 1)
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in records.items():
            archive.writestr(name, payload)
    return path


def test_a_view_reaching_outside_its_storage_is_refused(tmp_path):
    path = _tampered(tmp_path, b"QK\x00K\x04\x85", b"QK\x02K\x04\x85")  # offset 0 -> 2: elements 2..5 of 4
    with pytest.raises(CheckpointError, match=r"reaches element 5 of a storage of 4"):
        minicnn.load(path)


def test_a_storage_shorter_than_it_claims_is_refused(tmp_path):
    path = _tampered(tmp_path, b"cpuq\x04K\x04t", b"cpuq\x04K\x09t")  # the persistent id claims 9 elements
    with pytest.raises(CheckpointError, match=r"storage 0 holds 16 bytes, 9 elements of float32 need 36"):
        minicnn.load(path)


def test_big_endian_storages_are_read_by_their_byteorder_record(tmp_path):
    values = np.array([1.5, -2.0, 3.25], dtype=np.float64)
    pkl = io.BytesIO()
    torch.save(torch.from_numpy(values), pkl)
    with zipfile.ZipFile(io.BytesIO(pkl.getvalue())) as archive:
        records = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    records["data/0"] = values.astype(">f8").tobytes()
    path = tmp_path / "big.pt"
    _torch_archive(path, records.pop("data.pkl"), [(k, v) for k, v in records.items()
                                                   if k not in ("byteorder", "version")], byteorder="big")
    loaded = minicnn.load(path)
    assert loaded.dtype == np.float64 and loaded.numpy().dtype.isnative
    np.testing.assert_array_equal(loaded.numpy(), values)


def test_the_legacy_torch_format_gets_a_clear_message(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"w": torch.zeros(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="torch's legacy format"):
        minicnn.load(path)


def test_suffix_picks_the_format(tmp_path):
    obj = {"w": minicnn.tensor(np.arange(3.0))}
    for name in ("a.pt", "a.PTH", "a.npz", "a.ckpt", "a.safetensors"):
        minicnn.save(obj, tmp_path / name)
        np.testing.assert_array_equal(minicnn.load(tmp_path / name)["w"].numpy(), np.arange(3.0))
    assert "archive/data.pkl" in zipfile.ZipFile(tmp_path / "a.PTH").namelist()
    assert "__minicnn__.npy" in zipfile.ZipFile(tmp_path / "a.ckpt").namelist()


def test_an_unsupported_value_fails_before_a_pt_is_written(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store obj\['f'\], an object of type function, in a torch file"):
        minicnn.save({"w": minicnn.zeros(2), "f": lambda x: x}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="torch has no tensor of dtype"):
        minicnn.save({"s": np.array(["a"])}, tmp_path / "x.pt")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- the CLI on a torch-trained model
class TorchLeNet5(torch.nn.Module):
    """minicnn's lenet5 written in torch, attribute for attribute (so the state-dict keys match)."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.conv1, self.pool1 = nn.Conv2d(1, 6, 5, padding=2), nn.AvgPool2d(2)
        self.conv2, self.pool2 = nn.Conv2d(6, 16, 5), nn.AvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool2(self.relu(self.conv2(self.pool1(self.relu(self.conv1(x))))))
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(self.flatten(x))))))


@pytest.fixture(scope="module")
def torch_trained(tmp_path_factory):
    """A torch LeNet-5 trained briefly on test_cli's synthetic digits, saved with torch.save;
    the synthetic MNIST it was trained on; and its test images, normalised as minicnn eval does."""
    from helpers.cli import synthetic_digits, write_idx

    root = tmp_path_factory.mktemp("torch_trained")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(3)
    splits = {}
    for prefix, size in (("train", 600), ("t10k", 200)):
        labels = rng.integers(0, 10, size)
        images = synthetic_digits(labels, rng)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        normalised = ((images.astype(np.float32) / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081))
        splits[prefix] = (torch.from_numpy(normalised[:, None]), torch.from_numpy(labels))
    torch.manual_seed(0)
    model = TorchLeNet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = splits["train"]
    for step in range(60):
        batch = slice(step * 64 % 576, step * 64 % 576 + 64)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    torch.save(model.state_dict(), root / "lenet.pt")
    return root, model.eval(), splits["t10k"]


def test_minicnn_eval_scores_a_torch_state_dict_as_torch_does(torch_trained):
    from helpers.cli import run_cli

    root, model, (x, y) = torch_trained
    with torch.no_grad():
        logits = model(x)
    correct = int((logits.argmax(1) == y).sum())
    loss = float(torch.nn.functional.cross_entropy(logits, y))
    assert correct > 150  # it learned the synthetic classes (chance: 20 of 200)
    result = run_cli("eval", "--checkpoint", root / "lenet.pt", "--data-root", root)
    assert result.returncode == 0, result.stderr
    assert f"lenet.pt: lenet5 weights (a state dict; no training history)" in result.stdout
    assert f"({correct}/200)" in result.stdout
    printed_loss = float(result.stdout.split("test loss ")[1].split()[0])
    assert printed_loss == pytest.approx(loss, abs=1e-4)


def test_minicnn_visualize_and_explain_read_a_torch_state_dict(torch_trained, tmp_path):
    from helpers.cli import run_cli

    root, model, _ = torch_trained
    result = run_cli("visualize", "filters", "--checkpoint", root / "lenet.pt", "--out", tmp_path / "f.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "f.png").stat().st_size > 0
    result = run_cli("explain", "conv2d", "--checkpoint", root / "lenet.pt", "--layer", "conv2", "--input", "6x8x8")
    assert result.returncode == 0, result.stderr
    assert "C_out = 16 filter(s), each C/groups = 6 channel(s) of KH x KW = 5 x 5" in result.stdout
    first_weight = float(model.conv2.weight.detach()[0, 0, 0, 0])
    assert f"{first_weight:.4g}" in result.stdout


def test_a_state_dict_that_fits_no_model_and_resuming_from_weights_are_refused(torch_trained, tmp_path):
    from helpers.cli import run_cli

    root, _, _ = torch_trained
    torch.save({"fc.weight": torch.zeros(3, 4)}, tmp_path / "other.pt")
    result = run_cli("eval", "--checkpoint", tmp_path / "other.pt", "--data-root", root)
    assert result.returncode == 1 and "fit none of the registered models" in result.stderr
    result = run_cli("eval", "--checkpoint", root / "lenet.pt", "--model", "simple_cnn", "--data-root", root)
    assert result.returncode == 1 and "do not fit model 'simple_cnn'" in result.stderr
    result = run_cli("train", "--resume", root / "lenet.pt", "--data-root", root, "--out", tmp_path / "run")
    assert result.returncode == 1 and "holds only model weights" in result.stderr


def test_a_pickle_cannot_change_state_that_outlives_its_load(tmp_path):
    """BUILD sets attributes on whatever a global resolved to: each load gets its own stand-ins."""
    evil = tmp_path / "build.pt"
    _torch_archive(evil, b"\x80\x02ctorch\nFloatStorage\n}X\x05\x00\x00\x00dtypeX\x04\x00\x00\x00junksb.")
    minicnn.load(evil)  # whatever it built is thrown away with this load's stand-ins
    good = tmp_path / "good.pt"
    torch.save({"w": torch.arange(3.0), "dtype": torch.float32}, good)
    loaded = minicnn.load(good)
    np.testing.assert_array_equal(loaded["w"].numpy(), np.arange(3.0, dtype=np.float32))
    assert loaded["dtype"] == "float32"  # a torch dtype comes back as NumPy's name for it


@pytest.mark.parametrize("data_pkl", [b"\x80\x02}q\x00(X", b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n)R."],
                         ids=["cut-short", "wrong-arguments"])
def test_a_damaged_data_pkl_is_reported_as_corrupt(data_pkl, tmp_path):
    path = tmp_path / "damaged.pt"
    _torch_archive(path, data_pkl)
    with pytest.raises(CheckpointError, match=r"damaged.pt is truncated or corrupt"):
        minicnn.load(path)
