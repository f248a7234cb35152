"""The reference models: registry, shapes, hand-counted parameters, state-dict keys, and parity
with independently written torch twins (forward, loss, every parameter gradient, input gradient)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as tF

import minicnn
from minicnn.models import get_model, list_models, register_model
from parity import RNG, assert_close, draw_clear_of_kinks, rand

# Hand counts: conv = out * in * kh * kw + out (bias), linear = out * in + out,
# BatchNorm = 2 * channels (weight and bias; running stats are buffers, not parameters).
PARAMETER_COUNTS = {
    "lenet5": (6 * 1 * 5 * 5 + 6) + (16 * 6 * 5 * 5 + 16)
    + (120 * 400 + 120) + (84 * 120 + 84) + (10 * 84 + 10),                      # 61,706
    "simple_cnn": (32 * 1 * 3 * 3 + 32) + (64 * 32 * 3 * 3 + 64)
    + (512 * 3136 + 512) + (10 * 512 + 10),                                      # 1,630,090
    "resnet_mini": (16 * 1 * 9 + 2 * 16)                                       # stem conv + BN
    + 2 * (16 * 16 * 9 + 2 * 16)                                               # layer1: 2 conv+BN
    + (32 * 16 * 9 + 2 * 32) + (32 * 32 * 9 + 2 * 32) + (32 * 16 + 2 * 32)     # layer2 + shortcut
    + (64 * 32 * 9 + 2 * 64) + (64 * 64 * 9 + 2 * 64) + (64 * 32 + 2 * 64)     # layer3 + shortcut
    + (10 * 64 + 10),                                                          # fc; 77,754
}


def test_registry_lists_every_reference_model():
    assert list_models() == ["lenet5", "resnet_mini", "simple_cnn"]


def test_hand_counts_match_the_documented_totals():
    assert PARAMETER_COUNTS == {"lenet5": 61_706, "simple_cnn": 1_630_090, "resnet_mini": 77_754}


@pytest.mark.parametrize("name", sorted(PARAMETER_COUNTS))
def test_parameter_count(name):
    model = get_model(name)
    assert sum(p.numel() for p in model.parameters()) == PARAMETER_COUNTS[name]


@pytest.mark.parametrize("name", sorted(PARAMETER_COUNTS))
@pytest.mark.parametrize("batch", [1, 3])
def test_forward_gives_one_logit_per_class(name, batch):
    model = get_model(name).eval()
    logits = model(minicnn.tensor(rand(batch, 1, 28, 28, dtype=np.float32)))
    assert logits.shape == (batch, 10)
    assert logits.dtype == np.float32
    assert np.isfinite(logits.numpy()).all()


@pytest.mark.parametrize("name", sorted(PARAMETER_COUNTS))
def test_num_classes_is_passed_to_the_factory(name):
    model = get_model(name, num_classes=3).eval()
    assert model(minicnn.tensor(rand(2, 1, 28, 28, dtype=np.float32))).shape == (2, 3)


def test_lenet5_state_dict_keys():
    assert list(get_model("lenet5").state_dict()) == [
        f"{layer}.{kind}" for layer in ("conv1", "conv2", "fc1", "fc2", "fc3")
        for kind in ("weight", "bias")
    ]


def test_simple_cnn_state_dict_keys():
    assert list(get_model("simple_cnn").state_dict()) == [
        f"{layer}.{kind}" for layer in ("conv1", "conv2", "fc1", "fc2")
        for kind in ("weight", "bias")
    ]


def test_resnet_mini_state_dict_keys_follow_torchvision():
    keys = set(get_model("resnet_mini").state_dict())
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    expected = {"conv1.weight", "fc.weight", "fc.bias", *(f"bn1.{k}" for k in bn)}
    for layer in ("layer1", "layer2", "layer3"):
        block = f"{layer}.0"
        expected |= {f"{block}.conv1.weight", f"{block}.conv2.weight"}
        expected |= {f"{block}.{norm}.{k}" for norm in ("bn1", "bn2") for k in bn}
        if layer != "layer1":  # the blocks that change shape project their shortcut
            expected |= {f"{block}.downsample.0.weight", *(f"{block}.downsample.1.{k}" for k in bn)}
    assert keys == expected


def test_unknown_model_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown model 'lenet6'.*lenet5, resnet_mini, simple_cnn"):
        get_model("lenet6")


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="'lenet5' is already registered"):
        register_model("lenet5")(lambda: None)


def test_register_model_makes_a_factory_buildable_by_name(monkeypatch):
    import minicnn.models.registry as registry

    # Register into a copy of the registry, so other tests still see the three models only.
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))

    @register_model("tiny_test_model")
    def tiny(num_classes: int = 10):
        return minicnn.nn.Sequential(minicnn.nn.Flatten(), minicnn.nn.Linear(784, num_classes))

    assert "tiny_test_model" in list_models()
    assert get_model("tiny_test_model", num_classes=4)(minicnn.zeros(2, 1, 28, 28)).shape == (2, 4)


# ----------------------------------------------------------------- parity with torch twins
# Written from the architecture descriptions, not from minicnn's code; only the attribute
# names are shared, so that state dicts map one-to-one.
class TorchLeNet5(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = tnn.Conv2d(1, 6, 5, padding=2), tnn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = tnn.Linear(400, 120), tnn.Linear(120, 84), tnn.Linear(84, 10)

    def forward(self, x):
        x = tF.avg_pool2d(tF.relu(self.conv1(x)), 2)
        x = tF.avg_pool2d(tF.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(tF.relu(self.fc2(tF.relu(self.fc1(x)))))


class TorchSimpleCNN(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = tnn.Conv2d(1, 32, 3, padding=1), tnn.Conv2d(32, 64, 3, padding=1)
        self.fc1, self.fc2 = tnn.Linear(3136, 512), tnn.Linear(512, 10)

    def forward(self, x):  # compared in eval mode, where dropout is the identity
        x = tF.max_pool2d(tF.relu(self.conv1(x)), 2)
        x = tF.max_pool2d(tF.relu(self.conv2(x)), 2).flatten(1)
        return self.fc2(tF.dropout(tF.relu(self.fc1(x)), 0.5, self.training))


class TorchBlock(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.downsample = None if stride == 1 and cin == cout else tnn.Sequential(
            tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return tF.relu(self.bn2(self.conv2(tF.relu(self.bn1(self.conv1(x))))) + shortcut)


class TorchResNetMini(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = tnn.Conv2d(1, 16, 3, 1, 1, bias=False), tnn.BatchNorm2d(16)
        self.layer1 = tnn.Sequential(TorchBlock(16, 16, 1))
        self.layer2 = tnn.Sequential(TorchBlock(16, 32, 2))
        self.layer3 = tnn.Sequential(TorchBlock(32, 64, 2))
        self.fc = tnn.Linear(64, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(tF.relu(self.bn1(self.conv1(x))))))
        return self.fc(tF.adaptive_avg_pool2d(x, 1).flatten(1))


TWINS = {"lenet5": TorchLeNet5, "simple_cnn": TorchSimpleCNN, "resnet_mini": TorchResNetMini}


def _randomise_batchnorm_stats(model: tnn.Module) -> None:
    """Fresh BN running stats and affine parameters, so eval mode is not the identity."""
    for module in model.modules():
        if isinstance(module, tnn.BatchNorm2d):
            shape = module.running_mean.shape
            module.running_mean.copy_(torch.from_numpy(rand(*shape)))
            module.running_var.copy_(torch.from_numpy(np.abs(rand(*shape)) + 0.5))
            module.weight.data.copy_(torch.from_numpy(rand(*shape)))
            module.bias.data.copy_(torch.from_numpy(rand(*shape)))


@pytest.mark.parametrize("name,train_mode", [
    ("lenet5", True), ("simple_cnn", False), ("resnet_mini", True), ("resnet_mini", False),
])
def test_model_matches_its_torch_twin(name, train_mode, dtype):
    twin = TWINS[name]().to(torch.float64 if dtype == np.float64 else torch.float32)
    _randomise_batchnorm_stats(twin)
    twin.train(train_mode)
    model = get_model(name).to(dtype).train(train_mode)
    model.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})

    x, labels = draw_clear_of_kinks(
        twin, lambda: (rand(4, 1, 28, 28, dtype=dtype), RNG.integers(0, 10, 4)), dtype)
    x_mini = minicnn.tensor(x, requires_grad=True)
    x_torch = torch.tensor(x, requires_grad=True)
    logits_mini, logits_torch = model(x_mini), twin(x_torch)
    loss_mini = minicnn.nn.functional.cross_entropy(logits_mini, minicnn.tensor(labels))
    loss_torch = tF.cross_entropy(logits_torch, torch.tensor(labels))
    loss_mini.backward()
    loss_torch.backward()

    assert_close(logits_mini, logits_torch, dtype, f"{name} logits")
    assert_close(loss_mini, loss_torch, dtype, f"{name} loss")
    assert_close(x_mini.grad, x_torch.grad, dtype, f"{name} input grad")
    torch_params = dict(twin.named_parameters())
    for key, param in model.named_parameters():
        assert_close(param.grad, torch_params[key].grad, dtype, f"{name} grad of {key}")
    torch_buffers = dict(twin.named_buffers())
    for key, buffer in model.named_buffers():  # running stats after a train-mode forward
        assert_close(buffer, torch_buffers[key], dtype, f"{name} buffer {key}")
