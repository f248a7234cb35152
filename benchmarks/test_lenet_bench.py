"""LeNet-5 forward+backward at batch 1 (autograd overhead) and at batch 64 (one training step).

Both libraries run the same model code (``lenet5(lib)``) from the same weights; each test is one
batch size, torch and minicnn timed by the method of minicnn.benchmark.timing (conftest.py).

    python -m pytest benchmarks/test_lenet_bench.py --benchmark-json=benchmarks/results/lenet.json
"""
import numpy as np
import pytest
import torch

import minicnn
from minicnn.benchmark.timing import Contender

LIBRARIES = {"torch": torch, "minicnn": minicnn}


def lenet5(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def _training_step(lib_name: str, batch: int):
    lib = LIBRARIES[lib_name]
    torch.manual_seed(0)
    reference = lenet5(torch)
    model = lenet5(lib)
    model.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()}
                          if lib is minicnn else reference.state_dict())
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, batch))
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return step


@pytest.mark.parametrize("batch", [1, 64])
def test_lenet_train_step(time_contenders, batch):
    time_contenders(f"lenet5 train step, batch {batch}",
                    [Contender(name, _training_step(name, batch)) for name in LIBRARIES], batch=batch)
