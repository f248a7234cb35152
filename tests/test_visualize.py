"""The visual tools: the arrays they draw (checked against torch and by hand) and the PNGs."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import minicnn
from minicnn import cli
from minicnn.models import get_model
from minicnn.optim import SGD
from minicnn.random import Generator
from minicnn.study import apply_kernels, feature_maps, grad_cam, visualize
from minicnn.study.features import as_model, first_layer_filters
from minicnn.study.pictures import default_digit, model_input, read_picture
from minicnn.training.checkpoint import save_checkpoint
from minicnn.training.config import TrainConfig
from minicnn.training.metrics import MetricsHistory
from parity import RNG

PIL_Image = pytest.importorskip("PIL.Image", reason="the tests read PNG sizes with Pillow")
pytest.importorskip("matplotlib", reason="drawing needs matplotlib (the train/test extras)")

_rng = RNG  # parity's generator, reseeded before every test (conftest.py)


# ------------------------------------------------------------------------------ fixtures
class TorchLeNet(torch.nn.Module):
    """torch twin of minicnn's LeNet5: same layers, same state-dict keys."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(400, 120), torch.nn.Linear(120, 84), torch.nn.Linear(84, 10)

    def forward(self, x):
        x = tF.avg_pool2d(tF.relu(self.conv1(x)), 2)
        x = tF.avg_pool2d(tF.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(tF.relu(self.fc2(tF.relu(self.fc1(x)))))


def torch_twin(model) -> TorchLeNet:
    twin = TorchLeNet().double()
    twin.load_state_dict({k: torch.from_numpy(v.numpy().astype(np.float64))
                          for k, v in model.state_dict().items()})
    return twin


@pytest.fixture(scope="module")
def trained_lenet():
    """LeNet-5 after a few SGD steps on random digits: weights no longer at their init."""
    model = get_model("lenet5")
    optimizer = SGD(model.parameters(), lr=0.05)
    images = minicnn.tensor(_rng.standard_normal((16, 1, 28, 28)).astype(np.float32))
    labels = minicnn.tensor(_rng.integers(0, 10, 16))
    for _ in range(3):
        loss = minicnn.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), optimizer


@pytest.fixture(scope="module")
def checkpoint(trained_lenet, tmp_path_factory) -> Path:
    """A checkpoint written by the same function `minicnn train` writes them with."""
    model, optimizer = trained_lenet
    path = tmp_path_factory.mktemp("run") / "best.npz"
    save_checkpoint(path, config=TrainConfig(), epoch=1, best_val_acc=0.5, history=MetricsHistory(),
                    model=model, optimizer=optimizer, scheduler=None, loader_generator=Generator())
    return path


@pytest.fixture
def no_mnist(tmp_path) -> Path:
    """A data root without MNIST: the tools must fall back to the drawn digit, not download."""
    return tmp_path / "empty-data-root"


def random_digit() -> np.ndarray:
    return _rng.standard_normal((1, 1, 28, 28))


def png_size(path: Path) -> tuple[int, int]:
    assert path.stat().st_size > 0 and path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with PIL_Image.open(path) as image:
        return image.size


# ------------------------------------------------------------------------------- arrays
def test_checkpoint_filters_are_the_trained_weights(trained_lenet, checkpoint):
    model, _ = trained_lenet
    filters = first_layer_filters(as_model(checkpoint))
    np.testing.assert_array_equal(filters, model.conv1.weight.numpy())
    assert filters.shape == (6, 1, 5, 5)


def float64_copy(model):
    """A float64 twin of a minicnn LeNet-5 (the shared fixture itself stays float32)."""
    copy = get_model("lenet5").double()
    copy.load_state_dict(model.state_dict())
    return copy.eval()


def test_feature_maps_match_torch(trained_lenet):
    model = float64_copy(trained_lenet[0])
    x = random_digit()
    maps = feature_maps(model, minicnn.tensor(x))
    twin = torch_twin(model)
    conv1 = twin.conv1(torch.from_numpy(x))
    conv2 = twin.conv2(tF.avg_pool2d(tF.relu(conv1), 2))
    assert [name for name, _ in maps] == ["conv1", "conv2"]
    np.testing.assert_allclose(maps[0][1], conv1[0].detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(maps[1][1], conv2[0].detach().numpy(), rtol=1e-9, atol=1e-12)


def torch_grad_cam(twin: TorchLeNet, x: np.ndarray, target: int) -> np.ndarray:
    """The textbook recipe in torch: keep conv2's output, backprop the class logit into it,
    weight each channel by its mean gradient, ReLU, scale to a peak of 1 (all zeros stay 0)."""
    kept = {}
    handle = twin.conv2.register_forward_hook(lambda m, a, out: kept.update(A=out) or out.retain_grad())
    twin(torch.from_numpy(x))[0, target].backward()
    handle.remove()
    alpha = kept["A"].grad[0].mean(dim=(1, 2))                       # (16,)
    cam = torch.relu((alpha[:, None, None] * kept["A"][0]).sum(0)).detach().numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def test_grad_cam_matches_torch_for_every_class(trained_lenet):
    model = float64_copy(trained_lenet[0])
    twin = torch_twin(model)
    x = random_digit()
    nonzero = 0
    for target in range(10):
        cam = grad_cam(model, minicnn.tensor(x), target=target)
        want = torch_grad_cam(twin, x, target)
        np.testing.assert_allclose(cam.heatmap, want, rtol=1e-9, atol=1e-12, err_msg=f"class {target}")
        nonzero += bool(want.max() > 0)
    assert nonzero > 0, "every class map was empty: the comparison checked nothing"
    predicted = grad_cam(model, minicnn.tensor(x))
    logits = twin(torch.from_numpy(x))
    assert predicted.target == int(logits.argmax()) and predicted.layer == "conv2"
    np.testing.assert_allclose(predicted.probabilities, torch.softmax(logits, 1)[0].detach().numpy(),
                               rtol=1e-9)


def test_grad_cam_places_the_map_by_receptive_field(trained_lenet):
    """conv2's value p is centred on input row 4.5 + 2p (conv1 keeps centres, pool1 halves
    with centre 0.5, conv2 5x5 adds 2 pool1 rows = 4 pixels) and covers 2 pixels, so the
    10x10 map spans 3.5 ... 23.5, not the whole -0.5 ... 27.5."""
    model, _ = trained_lenet
    cam = grad_cam(model, minicnn.tensor(random_digit().astype(np.float32)))
    assert cam.extent((28, 28)) == (3.5, 23.5, 23.5, 3.5)
    assert grad_cam(model, minicnn.tensor(random_digit().astype(np.float32)),
                    layer="conv1").extent((28, 28)) == (-0.5, 27.5, 27.5, -0.5)


def test_grad_cam_leaves_grads_and_modes_alone(trained_lenet):
    model, _ = trained_lenet
    model.train()
    model.zero_grad()
    marker = minicnn.ones(6, 1, 5, 5)
    model.conv1.weight.grad = marker
    grad_cam(model, minicnn.tensor(random_digit().astype(np.float32)))
    assert model.training and model.fc1.weight.grad is None
    assert model.conv1.weight.grad is marker and (marker.numpy() == 1).all()
    assert all(p.requires_grad for p in model.parameters())
    model.eval()
    with pytest.raises(ValueError, match="target class 10 is out of range for 10 classes"):
        grad_cam(model, minicnn.tensor(random_digit().astype(np.float32)), target=10)
    with pytest.raises(ValueError, match="no conv layer named 'fc1'; conv layers: conv1, conv2"):
        grad_cam(model, minicnn.tensor(random_digit().astype(np.float32)), layer="fc1")


def test_classic_kernels_match_torch_and_hand_values():
    image = _rng.random((9, 11)).astype(np.float32)
    filtered = apply_kernels(image)
    for name, kernel in visualize.CLASSIC_KERNELS.items():
        want = tF.conv2d(torch.from_numpy(image)[None, None], torch.from_numpy(kernel)[None, None],
                         padding=1)[0, 0].numpy()
        np.testing.assert_allclose(filtered[name], want, rtol=2e-5, atol=2e-6, err_msg=name)
    # A ramp brightening by 1 per column: Sobel x sees slope 1 through weights 1, 2, 1 at
    # distance 2, i.e. (1 + 2 + 1) * 2 = 8 inside; Sobel y sees nothing; blurs keep the ramp.
    ramp = np.tile(np.arange(6, dtype=np.float32), (5, 1))
    ramp_filtered = apply_kernels(ramp)
    np.testing.assert_allclose(ramp_filtered["sobel x"][1:-1, 1:-1], 8)
    np.testing.assert_allclose(ramp_filtered["sobel y"][1:-1, 1:-1], 0)
    np.testing.assert_allclose(ramp_filtered["gaussian blur"][1:-1, 1:-1], ramp[1:-1, 1:-1], rtol=1e-6)


def test_default_digit_falls_back_to_a_drawn_one(no_mnist):
    picture = default_digit(root=no_mnist)
    assert "drawn" in picture.source and not no_mnist.exists()
    assert picture.pixels.shape == (28, 28) and picture.pixels.dtype == np.float32
    assert picture.pixels.min() == 0 and 0.9 < picture.pixels.max() <= 1  # black ground, white ink
    x = model_input(picture)
    # Normalised as training data: (pixel - 0.1307) / 0.3081.
    np.testing.assert_allclose(x.numpy()[0, 0, 0, 0], -0.1307 / 0.3081, rtol=1e-6)


def test_default_digit_uses_cached_mnist(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = _rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    header = bytes([0, 0, 8, 3]) + np.array(images.shape, dtype=">u4").tobytes()
    (raw / "t10k-images-idx3-ubyte").write_bytes(header + images.tobytes())
    (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + np.array([3], ">u4").tobytes()
                                                 + bytes([4, 7, 1]))
    picture = default_digit(2, tmp_path)
    assert picture.source == "MNIST test digit 2 (label 1)"
    np.testing.assert_allclose(picture.pixels, images[2] / 255, rtol=1e-6)


# --------------------------------------------------------------------------------- PNGs
@pytest.mark.parametrize("size", [(320, 240), (777, 333)])
def test_kernels_png_has_the_requested_size(tmp_path, no_mnist, size):
    path = visualize.plot_kernels(tmp_path / "kernels.png", size=size, data_root=no_mnist)
    assert png_size(path) == size


def test_kernels_on_a_png_file(tmp_path):
    source = tmp_path / "photo.png"
    PIL_Image.fromarray(_rng.integers(0, 256, (40, 60), dtype=np.uint8)).save(source)
    assert read_picture(source).pixels.shape == (40, 60)
    assert png_size(visualize.plot_kernels(tmp_path / "k.png", source, size=(400, 300))) == (400, 300)


def test_model_pngs_have_the_requested_size(tmp_path, checkpoint, no_mnist):
    size = (500, 260)
    paths = [
        visualize.plot_filters(checkpoint, tmp_path / "filters.png", size=size),
        visualize.plot_feature_maps(checkpoint, tmp_path / "maps.png", size=size, data_root=no_mnist),
        visualize.plot_grad_cam(checkpoint, tmp_path / "cam.png", size=size, data_root=no_mnist),
    ]
    assert [png_size(p) for p in paths] == [size] * 3


@pytest.mark.parametrize("argv", [
    ["kernels"],
    ["filters", "--checkpoint", "{checkpoint}"],
    ["feature-maps", "--checkpoint", "{checkpoint}", "--max-channels", "4"],
    ["grad-cam", "--checkpoint", "{checkpoint}", "--target", "7"],
])
def test_cli_writes_the_png(tmp_path, checkpoint, no_mnist, capsys, argv):
    out = tmp_path / "sub" / "picture.png"
    argv = [a.format(checkpoint=checkpoint) for a in argv]
    extra = ["--data-root", str(no_mnist)] if argv[0] in ("kernels", "feature-maps", "grad-cam") else []
    assert cli.main(["visualize", *argv, *extra, "--out", str(out), "--size", "360x240"]) == 0
    assert png_size(out) == (360, 240)
    assert f"wrote {out} (360x240 pixels)" in capsys.readouterr().out


def test_bad_size_and_missing_checkpoint(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"plot size must be two ints >= 50.*\(10, 300\)"):
        visualize.plot_kernels(tmp_path / "k.png", size=(10, 300))
    with pytest.raises(SystemExit, match="^2$"):  # argparse's usage-error status
        cli.main(["visualize", "kernels", "--size", "300by200"])
    assert "expected WIDTHxHEIGHT in pixels like 800x600, got '300by200'" in capsys.readouterr().err
    assert cli.main(["visualize", "filters", "--checkpoint", str(tmp_path / "none.npz")]) == 1
    assert "checkpoint not found" in capsys.readouterr().err


def test_missing_matplotlib_is_a_clear_import_error(tmp_path, checkpoint, monkeypatch, capsys):
    # A None entry in sys.modules makes `import matplotlib...` raise ImportError, as when the
    # package is not installed.
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    calls = [
        lambda: visualize.plot_kernels(tmp_path / "a.png"),
        lambda: visualize.plot_filters(checkpoint, tmp_path / "b.png"),
        lambda: visualize.plot_feature_maps(checkpoint, tmp_path / "c.png"),
        lambda: visualize.plot_grad_cam(checkpoint, tmp_path / "d.png"),
    ]
    for call in calls:
        with pytest.raises(ImportError, match=r'need matplotlib: pip install "minicnn\[train\]"'):
            call()
    assert not list(tmp_path.glob("*.png"))
    assert cli.main(["visualize", "kernels", "--out", str(tmp_path / "e.png")]) == 1
    assert 'pip install "minicnn[train]"' in capsys.readouterr().err
