"""`summary(model, input_size)`: shapes, parameters, FLOPs, receptive fields, memory.

LeNet-5's numbers are worked out by hand below; torch's FlopCounterMode is a second opinion
on the conv and linear FLOPs (it counts 2 per multiply-add too).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import minicnn
from minicnn import cli, nn
from minicnn.models import get_model
from minicnn.study import ReceptiveField, summary

# LeNet-5 on one 28x28 digit, layer by layer, by hand:
#   conv1 5x5 pad 2: 6x28x28 out; params 6*1*5*5 + 6 = 156; each output 1*5*5 = 25 products:
#                    4704 * 25 = 117,600 multiply-adds = 235,200 FLOPs
#   relu:            one op per value: 4704
#   pool1 2x2 avg:   6x14x14 = 1176 outputs, 4 taps each: 4704
#   conv2 5x5:       16x10x10 = 1600 outputs * (6*5*5 = 150) = 240,000 MACs = 480,000 FLOPs;
#                    params 16*6*25 + 16 = 2416
#   pool2:           16x5x5 = 400 outputs * 4 = 1600
#   fc1 400->120:    48,000 MACs = 96,000 FLOPs; params 48,000 + 120 = 48,120
#   fc2 120->84:     10,080 MACs = 20,160; params 10,164
#   fc3 84->10:      840 MACs = 1680; params 850
# Receptive field (size, jump, centre of the first value), rows = columns:
#   conv1: 1 + 4*1 = 5, jump 1, centre 0 + (2 - 2)*1 = 0
#   pool1: 5 + 1*1 = 6, jump 2, centre 0 + 0.5*1 = 0.5
#   conv2: 6 + 4*2 = 14, jump 2, centre 0.5 + 2*2 = 4.5
#   pool2: 14 + 1*2 = 16, jump 4, centre 4.5 + 0.5*2 = 5.5
LENET_ROWS = [
    # name, type, output shape, params, FLOPs, receptive field (size, jump, start) or "all"
    ("conv1", "Conv2d", (1, 6, 28, 28), 156, 235_200, (5, 1, 0.0)),
    ("relu", "ReLU", (1, 6, 28, 28), 0, 4_704, (5, 1, 0.0)),
    ("pool1", "AvgPool2d", (1, 6, 14, 14), 0, 4_704, (6, 2, 0.5)),
    ("conv2", "Conv2d", (1, 16, 10, 10), 2_416, 480_000, (14, 2, 4.5)),
    ("relu", "ReLU", (1, 16, 10, 10), None, 1_600, (14, 2, 4.5)),
    ("pool2", "AvgPool2d", (1, 16, 5, 5), 0, 1_600, (16, 4, 5.5)),
    ("flatten", "Flatten", (1, 400), 0, 0, (16, 4, 5.5)),
    ("fc1", "Linear", (1, 120), 48_120, 96_000, "all"),
    ("relu", "ReLU", (1, 120), None, 120, "all"),
    ("fc2", "Linear", (1, 84), 10_164, 20_160, "all"),
    ("relu", "ReLU", (1, 84), None, 84, "all"),
    ("fc3", "Linear", (1, 10), 850, 1_680, "all"),
]


def expected_field(spec) -> ReceptiveField:
    if spec == "all":
        return ReceptiveField(whole=True)
    size, jump, start = spec
    return ReceptiveField((size, size), (jump, jump), (start, start))


def test_lenet5_layer_by_layer():
    report = summary(get_model("lenet5"), (1, 28, 28))
    got = [(r.name, r.kind, r.output_shape, r.params, r.flops, r.receptive_field) for r in report.rows]
    want = [(n, k, s, p, f, expected_field(rf)) for n, k, s, p, f, rf in LENET_ROWS]
    assert got == want
    assert report.total_params == report.trainable_params == 61_706
    assert report.total_flops == sum(row[4] for row in LENET_ROWS)
    # float32 outputs: 4 bytes per value.
    assert [r.activation_bytes for r in report.rows] == [4 * int(np.prod(s)) for _, _, s, *_ in LENET_ROWS]
    assert report.param_bytes == 4 * 61_706 and report.input_bytes == 4 * 28 * 28


def test_lenet5_table_text():
    text = str(summary(get_model("lenet5"), (1, 28, 28)))
    assert "Total params: 61,706" in text and "Non-trainable params: 0" in text
    assert f"Total FLOPs: {sum(row[4] for row in LENET_ROWS):,}" in text
    conv2 = next(line for line in text.splitlines() if line.startswith("conv2 (Conv2d)"))
    assert conv2.split() == ["conv2", "(Conv2d)", "[1,", "16,", "10,", "10]", "2,416", "480,000",
                             "14x14", "6.2", "KiB"]


def torch_lenet_layers():
    """torch layers with LeNet-5's hyper-parameters and the input shape each one receives."""
    return [
        (torch.nn.Conv2d(1, 6, 5, padding=2), (1, 1, 28, 28)),
        (torch.nn.Conv2d(6, 16, 5), (1, 6, 14, 14)),
        (torch.nn.Linear(400, 120), (1, 400)),
        (torch.nn.Linear(120, 84), (1, 120)),
        (torch.nn.Linear(84, 10), (1, 84)),
    ]


@pytest.mark.parametrize("batch", [1, 3])
def test_conv_and_linear_flops_agree_with_torch(batch):
    report = summary(get_model("lenet5"), (1, 28, 28), batch_size=batch)
    ours = [r.flops for r in report.rows if r.kind in ("Conv2d", "Linear")]
    theirs = []
    for layer, shape in torch_lenet_layers():
        with FlopCounterMode(display=False) as counter:
            layer(torch.zeros((batch, *shape[1:])))
        theirs.append(counter.get_total_flops())
    assert ours == theirs
    assert report.rows[0].output_shape == (batch, 6, 28, 28)


def test_resnet_receptive_fields_follow_the_shortcut():
    """By hand: stem 3x3 -> 3; block 1: 5, 7; block 2 (stride 2): 7 + 2 = 9, 9 + 2*2 = 13;
    block 3: 13 + 2*2 = 17, 17 + 2*4 = 25. The 1x1 shortcut convs keep the field of the block
    input (7, then 13) and the sums take the wider branch."""
    rows = summary(get_model("resnet_mini"), (1, 28, 28)).rows
    convs = {r.name: r.receptive_field.size[0] for r in rows if r.kind == "Conv2d"}
    assert convs == {"conv1": 3, "layer1.0.conv1": 5, "layer1.0.conv2": 7,
                     "layer2.0.downsample.0": 7, "layer2.0.conv1": 9, "layer2.0.conv2": 13,
                     "layer3.0.downsample.0": 13, "layer3.0.conv1": 17, "layer3.0.conv2": 25}
    last_relu = [r for r in rows if r.name == "layer3.0.relu"][-1]
    assert last_relu.receptive_field.size == (25, 25) and last_relu.receptive_field.jump == (4, 4)
    assert rows[-1].receptive_field.whole  # fc after the global average pool


class Shared(nn.Module):
    """One conv used twice (weight sharing), a layer summary has no rule for, and a residual."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1, bias=False)
        self.norm = nn.GroupNorm(1, 2)

    def forward(self, x):
        return self.norm(self.conv(self.conv(x)) + x)


def test_user_module_with_shared_weights_and_an_unknown_layer():
    report = summary(Shared(), (2, 6, 6))
    assert [(r.name, r.params) for r in report.rows] == [("conv", 36), ("conv", None), ("norm", 4)]
    # Each conv call: 2*6*6 = 72 outputs of 2*3*3 = 18 products -> 1296 MACs -> 2592 FLOPs.
    assert [r.flops for r in report.rows] == [2592, 2592, None]
    assert report.total_flops == 2 * 2592 and report.total_params == 40
    assert [r.receptive_field.size for r in report.rows[:2]] == [(3, 3), (5, 5)]
    assert report.rows[2].receptive_field is None
    text = str(report)
    assert "(reused)" in text and "layers marked ? not counted" in text


def test_summary_leaves_the_model_and_the_generator_alone():
    model = get_model("resnet_mini")
    model.layer1.train()
    model.fc.eval()
    stats = model.bn1.running_mean.numpy().copy()
    rng_state = minicnn.get_rng_state()
    summary(model, (1, 28, 28), batch_size=2)
    assert model.training and model.layer1[0].bn1.training and not model.fc.training
    np.testing.assert_array_equal(model.bn1.running_mean.numpy(), stats)
    assert all(p.grad is None for p in model.parameters())
    next_draw = minicnn.randn(3).numpy()
    minicnn.set_rng_state(rng_state)
    np.testing.assert_array_equal(minicnn.randn(3).numpy(), next_draw)


def test_float64_model_reports_8_bytes_per_value():
    report = summary(get_model("lenet5").double(), (1, 28, 28))
    assert report.rows[0].activation_bytes == 8 * 6 * 28 * 28 and report.param_bytes == 8 * 61_706


def test_cli_summary(capsys):
    assert cli.main(["summary", "--model", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 61,706" in out and "conv1 (Conv2d)" in out
    assert cli.main(["summary", "--model", "simple_cnn", "--input-size", "1,28,28",
                     "--batch-size", "2"]) == 0
    assert "[2, 32, 28, 28]" in capsys.readouterr().out


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected an nn.Module, got str"):
        summary("lenet5", (1, 28, 28))
    with pytest.raises(ValueError, match=r"input_size must be positive ints.*\(1, 0, 28\)"):
        summary(get_model("lenet5"), (1, 0, 28))
    # The layer's own error comes through: a 3-channel input for LeNet's 1-channel conv1.
    with pytest.raises(RuntimeError, match=r"1 channels.*\(1, 3, 28, 28\)"):
        summary(get_model("lenet5"), (3, 28, 28))
