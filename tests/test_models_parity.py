"""Whole models, minicnn against torch: forward, loss, every gradient, BN state, SGD steps.

Each model is written once, as a function of the library's ``nn`` module, so the minicnn
and torch models are built by literally the same code. torch's weights (and BatchNorm
statistics, randomised first so that eval mode has something to use) are copied into
minicnn through ``load_state_dict({k: v.detach().numpy()})``, the documented route.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn

import minicnn
import minicnn.nn as nn
from minicnn.functional.conv import conv_algorithm
from parity import RNG, assert_close, draw_clear_of_kinks, kink_distance, rand

_rng = RNG  # parity's generator, reseeded before every test (conftest.py)
ALGORITHMS = ["im2col", "direct"]

# ---------------------------------------------------------------------------- the models
def lenet5(nn, dropout=0.0):
    """LeNet-5 on 1x28x28: 28 -pad2 conv5-> 28 -pool-> 14 -conv5-> 10 -pool-> 5; 16·5·5 = 400.

    (No dropout layer: ``dropout`` is accepted so that every builder has one signature.)"""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def two_block_cnn(nn, dropout=0.5):
    """The classic MNIST CNN: two conv-relu-maxpool blocks (28 -> 14 -> 7), 64·7·7 = 3136."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 512), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(512, 10),
    )


def vgg_block(nn, dropout=0.25):
    """A VGG stage on 3x8x8: (conv3x3-BN-ReLU) x2, maxpool to 4x4, dropout; a linear head.

    The convs have no bias: BN subtracts the batch mean, which cancels a bias exactly (its
    gradient would be rounding noise, compared against torch's rounding noise).
    """
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(dropout),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 10),
    )


def small_resnet(nn, dropout=0.0):
    """A stem and two BasicBlocks (the second strided, with a 1x1 conv+BN shortcut), global
    average pooling, a linear classifier. 3x8x8 -> 8x8x8 -> 8x8x8 -> 16x4x4 -> 16 -> 10.
    (No dropout layer; ``dropout`` is accepted for the common signature.)"""

    class BasicBlock(nn.Module):
        def __init__(self, in_channels, out_channels, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(out_channels)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(out_channels)
            self.downsample = None
            if stride != 1 or in_channels != out_channels:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                    nn.BatchNorm2d(out_channels),
                )

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()
            self.layer1 = BasicBlock(8, 8)
            self.layer2 = BasicBlock(8, 16, stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer2(self.layer1(x))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet()


# (id, builder, input shape of one sample, batch size)
MODELS = [
    ("lenet5", lenet5, (1, 28, 28), 3),
    ("two_block_cnn", two_block_cnn, (1, 28, 28), 2),
    ("vgg_block", vgg_block, (3, 8, 8), 4),
    ("small_resnet", small_resnet, (3, 8, 8), 3),
]
MODEL_IDS = [m[0] for m in MODELS]


# ---------------------------------------------------------------------------- harness
def _torch_dtype(dtype):
    return getattr(torch, np.dtype(dtype).name)


def _randomise_batchnorm(model: tnn.Module) -> None:
    """Give torch's BatchNorms non-trivial affine parameters and running statistics, so that
    copying them and using them (in eval) is actually tested."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(5)


def build_twins(build, dtype, dropout):
    """The same architecture in both libraries, minicnn holding torch's state."""
    ref = build(tnn, dropout=dropout).to(_torch_dtype(dtype))
    _randomise_batchnorm(ref)
    mini = build(nn, dropout=dropout).to(dtype)
    mini.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return mini, ref


def forward_and_backward(mini, ref, x, target, algorithm):
    """Cross-entropy loss of each model on (x, target), back-propagated.

    Returns ((mini output, loss, input), (torch output, loss, input)); the inputs carry
    their gradients.
    """
    x_mini = minicnn.tensor(x, requires_grad=True)
    x_ref = torch.tensor(x, requires_grad=True)
    with conv_algorithm(algorithm):
        out_mini = mini(x_mini)
        loss_mini = nn.CrossEntropyLoss()(out_mini, minicnn.tensor(target))
        loss_mini.backward()
    out_ref = ref(x_ref)
    loss_ref = tnn.CrossEntropyLoss()(out_ref, torch.tensor(target))
    loss_ref.backward()
    return (out_mini, loss_mini, x_mini), (out_ref, loss_ref, x_ref)


def assert_models_agree(mini, ref, dtype, what, grads=True):
    """Every parameter (and its gradient) and every buffer, by state-dict name."""
    for (name, m), (ref_name, t) in zip(mini.named_parameters(), ref.named_parameters()):
        assert name == ref_name
        assert_close(m, t, dtype, f"{what}: {name}")
        if grads:
            assert_close(m.grad, t.grad, dtype, f"{what}: grad of {name}")
    for (name, m), (ref_name, t) in zip(mini.named_buffers(), ref.named_buffers()):
        assert name == ref_name
        if name.endswith("num_batches_tracked"):
            assert m.dtype == np.int64 and m.item() == t.item(), f"{what}: {name}"
        else:
            assert_close(m, t, dtype, f"{what}: {name}")


def batch(ref, shape, size, dtype):
    """A random batch and labels, clear of ``ref``'s ReLU/max-pool kinks (see parity.KINK_MARGIN)."""
    return draw_clear_of_kinks(ref, lambda: (rand(size, *shape, dtype=dtype), _rng.integers(0, 10, size)), dtype)


# ---------------------------------------------------------------------------- tests
# (model id, training?, dropout p): dropout masks are random, so in training mode it is 0.
MODES = [
    (model_id, training, 0.0 if training else 0.5)
    for model_id in MODEL_IDS for training in (True, False)
    if not (model_id == "lenet5" and not training)  # no BN/dropout: eval would repeat train
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("model_id, training, dropout", MODES,
                         ids=[f"{m}-{'train' if t else 'eval'}" for m, t, _ in MODES])
def test_forward_loss_and_every_gradient_match_torch(model_id, training, dropout, algorithm, dtype):
    _, build, shape, size = MODELS[MODEL_IDS.index(model_id)]
    mini, ref = build_twins(build, dtype, dropout)
    mini.train(training)
    ref.train(training)
    x, target = batch(ref, shape, size, dtype)
    (out_m, loss_m, x_m), (out_t, loss_t, x_t) = forward_and_backward(mini, ref, x, target, algorithm)
    assert out_m.dtype == dtype and loss_m.dtype == dtype
    assert_close(out_m, out_t, dtype, f"{model_id} output")
    assert_close(loss_m, loss_t, dtype, f"{model_id} loss")
    assert_close(x_m.grad, x_t.grad, dtype, f"{model_id} input grad")
    # Parameters, their gradients, and BN running statistics + batch counters after the pass
    # (updated in training, untouched in eval).
    assert_models_agree(mini, ref, dtype, model_id)


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_three_sgd_momentum_steps_match_torch(model_id, dtype):
    algorithm = "im2col"  # the default; both algorithms' gradients are compared above
    _, build, shape, size = MODELS[MODEL_IDS.index(model_id)]
    mini, ref = build_twins(build, dtype, dropout=0.0)
    settings = dict(lr=0.05, momentum=0.9, weight_decay=1e-3)
    opt_mini = minicnn.optim.SGD(mini.parameters(), **settings)
    opt_ref = torch.optim.SGD(ref.parameters(), **settings)
    for step in range(3):
        x, target = batch(ref, shape, size, dtype)
        opt_mini.zero_grad()
        opt_ref.zero_grad()
        (_, loss_m, _), (_, loss_t, _) = forward_and_backward(mini, ref, x, target, algorithm)
        assert_close(loss_m, loss_t, dtype, f"{model_id} loss at step {step}")
        opt_mini.step()
        opt_ref.step()
        assert_models_agree(mini, ref, dtype, f"{model_id} after step {step + 1}")


def test_kink_distance_finds_the_nearest_relu_zero_and_max_pool_near_tie():
    # ReLU input [4, -0.02, 1, 3]: the nearest to 0 is 0.02, relative to the largest, 4.
    relu = tnn.Sequential(tnn.ReLU())
    assert kink_distance(relu, np.array([4.0, -0.02, 1.0, 3.0])) == pytest.approx(0.02 / 4)
    # 2x2 max-pool windows [[8, 7.9], [1, 2]] and [[0, 0], [0, 0]]: the first window's runner-up
    # is 0.1 below its maximum, relative to 8; the all-zero window (ReLU's zeros) does not count.
    pool = tnn.Sequential(tnn.MaxPool2d(2))
    x = np.array([[[[8.0, 7.9, 0, 0], [1.0, 2.0, 0, 0]]]])
    assert kink_distance(pool, x) == pytest.approx(0.1 / 8)
    # A model without kinks never rejects a batch.
    assert kink_distance(tnn.Sequential(tnn.Tanh()), np.zeros(3)) == np.inf
