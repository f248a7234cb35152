"""Programs written for torch run on minicnn with only their imports changed.

tests/programs/ holds programs written here that use torch's API the way the programs
people start from use it (PyTorch's examples/mnist, the blitz tutorial's classifier). Each
test swaps the imports line by line, as a user would, runs the program in a subprocess
where torch cannot be imported, checks its printed figures (the loss falls, the accuracy
passes a stated floor), and then checks in real torch what the program saved.
"""
from __future__ import annotations

import re
import runpy
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.cli import synthetic_digits, write_idx
from torchless import BLOCK_TORCH, CHECK_NO_TORCH, python_env

PROGRAMS = Path(__file__).parent / "programs"

# A user's edit: torch's module paths become minicnn's, torchvision's become minicnn.vision.
SWAPS = [
    (r"^import torch$", "import minicnn as torch"),
    (r"^import torch\.([\w.]+) as (\w+)$", r"import minicnn.\1 as \2"),
    (r"^from torch\.([\w.]+) import", r"from minicnn.\1 import"),
    (r"^from torchvision import", "from minicnn.vision import"),
]


def swap_imports(source: str) -> str:
    for pattern, replacement in SWAPS:
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    left = re.findall(r"^\s*(?:import|from) torch\w*\b.*$", source, flags=re.MULTILINE)
    assert not left, f"imports the swap did not cover: {left}"
    return source


def test_the_swap_changes_only_import_lines():
    source = (PROGRAMS / "mnist_convnet.py").read_text()
    changed = [(a, b) for a, b in zip(source.splitlines(), swap_imports(source).splitlines()) if a != b]
    assert changed == [
        ("import torch", "import minicnn as torch"),
        ("import torch.nn as nn", "import minicnn.nn as nn"),
        ("import torch.nn.functional as F", "import minicnn.nn.functional as F"),
        ("import torch.optim as optim", "import minicnn.optim as optim"),
        ("from torch.optim.lr_scheduler import StepLR", "from minicnn.optim.lr_scheduler import StepLR"),
        ("from torchvision import datasets, transforms", "from minicnn.vision import datasets, transforms"),
    ]


def run_program(name: str, args: list, cwd: Path, on_minicnn: bool, prelude: str = "") -> str:
    """Run tests/programs/<name> with ``args`` in ``cwd``: swapped and torch-blocked on minicnn,
    as written on torch. Returns its stdout."""
    source = (PROGRAMS / name).read_text()
    if on_minicnn:
        source = BLOCK_TORCH + prelude + swap_imports(source) + CHECK_NO_TORCH
    script = cwd / f"{'minicnn' if on_minicnn else 'torch'}_{name}"
    script.write_text(source)
    done = subprocess.run([sys.executable, str(script), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=python_env())
    assert done.returncode == 0, done.stderr
    return done.stdout


def program_module(name: str) -> dict:
    """The program's definitions (its Net), loaded in this process with real torch.

    torchvision is not installed here; the programs only touch it inside main(), so a stub
    module lets their top-level ``from torchvision import ...`` pass.
    """
    stub = types.ModuleType("torchvision")
    stub.datasets = stub.transforms = None
    saved = sys.modules.get("torchvision")
    sys.modules["torchvision"] = stub
    try:
        return runpy.run_path(str(PROGRAMS / name), run_name="program_under_test")
    finally:
        if saved is None:
            del sys.modules["torchvision"]
        else:
            sys.modules["torchvision"] = saved


# ---------------------------------------------------------------------- examples/mnist style
# The example's accelerator branch is where its DataLoader gets num_workers, persistent_workers,
# pin_memory and shuffle. This machine has no accelerator, so the run tells the program there
# is one and that it is the CPU: the branch (and those kwargs) run, on the CPU.
CPU_AS_ACCELERATOR = """
import minicnn.accelerator
minicnn.accelerator.is_available = lambda: True
minicnn.accelerator.current_accelerator = lambda check_available=False: minicnn.device("cpu")
"""
TRAIN_LINE = re.compile(r"Train Epoch: (\d+) \[(\d+)/(\d+) \(\d+%\)\]\tLoss: (\d+\.\d+)")
TEST_LINE = re.compile(r"Test set: Average loss: (\d+\.\d+), Accuracy: (\d+)/(\d+) \(\d+%\)")
MNIST_TRAIN, MNIST_TEST = 640, 200


@pytest.fixture(scope="module")
def synthetic_mnist(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """test_cli's synthetic digits as MNIST IDX files; also the test split as arrays."""
    root = tmp_path_factory.mktemp("mnist_program")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(11)
    for prefix, size in (("train", MNIST_TRAIN), ("t10k", MNIST_TEST)):
        labels = rng.integers(0, 10, size)
        images = synthetic_digits(labels, rng)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root, images, labels


def test_mnist_example_style_program_trains_and_saves_a_file_torch_reads(synthetic_mnist, tmp_path):
    root, test_images, test_labels = synthetic_mnist
    out = run_program("mnist_convnet.py", ["--data-root", root, "--epochs", 2, "--log-interval", 2,
                                           "--test-batch-size", 100, "--save-model"],
                      tmp_path, on_minicnn=True, prelude=CPU_AS_ACCELERATOR)
    losses = [float(m[3]) for m in TRAIN_LINE.findall(out)]
    tests = TEST_LINE.findall(out)
    assert len(losses) == 10 and len(tests) == 2, out  # 10 batches per epoch, logged every 2nd
    assert max(losses[-3:]) < 0.5 * losses[0], losses  # the loss falls
    correct, count = int(tests[-1][1]), int(tests[-1][2])
    assert count == MNIST_TEST and correct >= 0.9 * count, tests  # floor: 90 % (chance: 10 %)

    # mnist_cnn.pt is torch's file: real torch loads it into the program's own Net and scores
    # the same test images (ToTensor + Normalize((0.1307,), (0.3081,))) with the same result.
    net = program_module("mnist_convnet.py")["Net"]()
    net.load_state_dict(torch.load(tmp_path / "mnist_cnn.pt", weights_only=True))
    net.eval()
    x = (torch.from_numpy(test_images).float()[:, None] / 255 - 0.1307) / 0.3081
    with torch.no_grad():
        output = net(x)
    target = torch.from_numpy(test_labels)
    assert int(output.argmax(1).eq(target).sum()) == correct
    average_loss = float(torch.nn.functional.nll_loss(output, target, reduction="sum")) / count
    assert average_loss == pytest.approx(float(tests[-1][0]), abs=1e-4)


# ---------------------------------------------------------------------- blitz "training a classifier"
LOSS_LINE = re.compile(r"\[(\d+), +(\d+)\] loss: (\d+\.\d+)")
ACCURACY_LINE = re.compile(r"Accuracy of the network on the (\d+) test images: (\d+) %")
BLITZ_ARGS = ["--epochs", 4, "--batch-size", 10, "--lr", 0.01, "--log-every", 25,
              "--train-size", 1000, "--test-size", 300, "--init", "init.pth", "--no-shuffle"]


def test_blitz_style_classifier_learns_and_matches_torch_run_for_run(tmp_path):
    """Same starting weights, same batches, no dropout: minicnn and torch train the same network."""
    program = program_module("blitz_classifier.py")
    torch.manual_seed(0)
    torch.save(program["Net"]().state_dict(), tmp_path / "init.pth")
    (tmp_path / "mini").mkdir()
    (tmp_path / "torch").mkdir()
    for side in ("mini", "torch"):
        (tmp_path / side / "init.pth").write_bytes((tmp_path / "init.pth").read_bytes())
    mini = run_program("blitz_classifier.py", BLITZ_ARGS, tmp_path / "mini", on_minicnn=True)
    ref = run_program("blitz_classifier.py", BLITZ_ARGS, tmp_path / "torch", on_minicnn=False)

    mini_losses = [float(m[2]) for m in LOSS_LINE.findall(mini)]
    ref_losses = [float(m[2]) for m in LOSS_LINE.findall(ref)]
    assert len(mini_losses) == len(ref_losses) == 16
    # The first epoch (100 SGD steps) agrees with torch to the printed 3 decimals. After that
    # the two runs drift apart: float32 rounds differently op by op, and SGD with momentum on
    # batches of 10 amplifies any difference (a chaotic map), so later figures are compared
    # by their floors only.
    np.testing.assert_allclose(mini_losses[:4], ref_losses[:4], atol=0.0015)
    for losses in (mini_losses, ref_losses):
        assert min(losses[-4:]) < 0.5 * losses[0], losses  # the loss falls
    accuracy = int(ACCURACY_LINE.search(mini).group(2))
    assert accuracy >= 60 and int(ACCURACY_LINE.search(ref).group(2)) >= 60, (mini, ref)  # chance: 10 %

    # What minicnn saved with torch.save(net.state_dict(), PATH) scores the same in real torch.
    net = program["Net"]()
    net.load_state_dict(torch.load(tmp_path / "mini" / "shapes_net.pth", weights_only=True))
    images, labels = program["shapes10"](300, seed=2)
    with torch.no_grad():
        correct = int((torch.max(net(images), 1)[1] == labels).sum())
    assert 100 * correct // 300 == accuracy
