"""One training epoch of LeNet-5 on the real MNIST (60 000 images, batch 64, Adam): minicnn vs torch.

Both libraries run the same model code from the same initial weights over the same batches
(one fixed permutation). minicnn runs twice: on its reference NumPy backend (conv2d im2col) and
on what `minicnn train` picks when numba is installed (the numba backend, conv2d direct). Needs
MNIST in the cache (`minicnn download mnist`).

The method is minicnn.benchmark.timing's (conftest.py) with one change, recorded with the run:
an epoch takes seconds, so a block times ONE epoch (far over the 0.3 s a block must last; the
>= 7 calls are relaxed to 1), after a warm-up of the first 20 training steps, repeated for at
least 0.2 s. The three implementations' blocks are alternated over three rounds.

    python -m pytest benchmarks/test_epoch_bench.py --benchmark-json=benchmarks/results/epoch.json
"""
import contextlib

import numpy as np
import pytest
import torch

import minicnn
from minicnn.benchmark.timing import Contender, Method
from minicnn.training.config import DataSource
from minicnn.training.data import load_mnist, normalise_images
from test_lenet_bench import lenet5

BATCH = 64
EPOCH_METHOD = Method(warmup_s=0.2, min_calls=1, min_block_s=0.0, rounds=3)
WARMUP_STEPS = 20


@pytest.fixture(scope="module")
def mnist_batches():
    images, labels = load_mnist(DataSource(root=None, download=False), train=True)
    x = normalise_images(images)
    order = np.random.default_rng(0).permutation(len(x))
    return [(x[order[i:i + BATCH]], labels[order[i:i + BATCH]]) for i in range(0, len(x), BATCH)]


# implementation -> (library, minicnn's backend and conv2d algorithm)
IMPLEMENTATIONS = {
    "torch": (torch, None),
    "minicnn": (minicnn, ("numpy", "im2col")),
    "minicnn-numba": (minicnn, ("numba", "direct")),
}


def _compute_settings(choice):
    """A context with minicnn's backend and conv2d algorithm set (nothing for torch)."""
    stack = contextlib.ExitStack()
    if choice is not None:
        backend, algorithm = choice
        stack.enter_context(minicnn.backends.use_backend(backend))
        stack.enter_context(minicnn.conv_algorithm(algorithm))
    return stack


def _epoch(impl, batches) -> Contender:
    lib, choice = IMPLEMENTATIONS[impl]
    torch.manual_seed(0)
    reference = lenet5(torch)
    model = lenet5(lib)
    if lib is minicnn:
        model.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    tensors = [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]

    def run(steps=None):
        for x, y in tensors[:steps]:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()

    return Contender(impl, run, scope=lambda: _compute_settings(choice), warmup=lambda: run(WARMUP_STEPS))


def test_lenet5_epoch(time_contenders, mnist_batches):
    time_contenders("lenet5 MNIST epoch (60000 images, batch 64, Adam)",
                    [_epoch(impl, mnist_batches) for impl in IMPLEMENTATIONS], method=EPOCH_METHOD,
                    images=60000)
