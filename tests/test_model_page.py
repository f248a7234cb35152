"""`minicnn explain model`: the trace against torch, the loaders, the page's self-containment,
and the page in a real headless Chromium (clicked, its dot product checked by hand)."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import minicnn
import minicnn.nn.functional as F
from minicnn import cli, nn
from minicnn.models import get_model
from minicnn.optim import SGD
from minicnn.random import Generator
from minicnn.serialization import CheckpointError
from minicnn.study.model_page import write_model_page
from minicnn.study.model_trace import load_model, trace_model
from minicnn.study.pictures import model_input, synthetic_digit
from minicnn.training.checkpoint import save_checkpoint
from minicnn.training.config import TrainConfig
from minicnn.training.metrics import MetricsHistory

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
_rng = np.random.default_rng()


class Branchy(nn.Module):
    """A user model: a grouped, strided, dilated conv that reads a sum computed outside any
    module (so the page must carry that conv's input itself)."""

    def __init__(self, dtype=None):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1, dtype=dtype)
        self.grouped = nn.Conv2d(4, 4, 3, stride=2, padding=1, dilation=2, groups=2, dtype=dtype)
        self.head = nn.Linear(4 * 13 * 13, 10, dtype=dtype)

    def forward(self, x):
        y = F.relu(self.stem(x))
        return self.head(self.grouped(y + x).flatten(1))


def trained(name: str) -> nn.Module:
    """A registered model after two SGD steps on random digits: weights off their init."""
    model = get_model(name)
    optimizer = SGD(model.parameters(), lr=0.05)
    images = minicnn.tensor(_rng.standard_normal((8, 1, 28, 28)).astype(np.float32))
    labels = minicnn.tensor(_rng.integers(0, 10, 8))
    for _ in range(2):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def lenet() -> nn.Module:
    return trained("lenet5")


@pytest.fixture(scope="module")
def training_checkpoint(lenet, tmp_path_factory) -> Path:
    """Written by the function `minicnn train` writes its checkpoints with."""
    path = tmp_path_factory.mktemp("run") / "best.npz"
    save_checkpoint(path, config=TrainConfig(), epoch=1, best_val_acc=0.5, history=MetricsHistory(),
                    model=lenet, optimizer=SGD(lenet.parameters(), lr=0.1), scheduler=None,
                    loader_generator=Generator())
    return path


@pytest.fixture
def no_mnist(tmp_path) -> Path:
    return tmp_path / "empty-data-root"


def random_image(dtype=np.float32) -> minicnn.Tensor:
    return minicnn.tensor(_rng.standard_normal((1, 1, 28, 28)).astype(dtype))


# ------------------------------------------------------------------------------- the trace
@pytest.mark.parametrize("name", ["lenet5", "simple_cnn", "resnet_mini", "user", "user64"])
def test_every_conv_record_redoes_its_output_in_torch(name):
    """Each conv's recorded input, weights and geometry give its recorded output in torch, and
    the input is the output of the layer the record names as its source."""
    dtype = np.float64 if name == "user64" else np.float32
    model = Branchy(dtype=minicnn.float64 if dtype == np.float64 else None) if name.startswith("user") \
        else get_model(name)
    x = random_image(dtype)
    trace = trace_model(model, x)
    convs = [layer for layer in trace.layers if layer.conv is not None]
    assert convs and all(layer.output.dtype == dtype for layer in trace.layers)
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    for layer in convs:
        conv = layer.conv
        top, bottom, left, right = conv.padding
        padded = tF.pad(torch.from_numpy(conv.input[None]), (left, right, top, bottom))
        expected = tF.conv2d(padded, torch.from_numpy(conv.weight),
                             None if conv.bias is None else torch.from_numpy(conv.bias),
                             stride=conv.stride, dilation=conv.dilation, groups=conv.groups)[0]
        np.testing.assert_allclose(layer.output, expected.numpy(), rtol=tolerance, atol=tolerance)
        if conv.source == -1:
            np.testing.assert_array_equal(conv.input, x.numpy()[0])
        elif conv.source is not None:
            np.testing.assert_array_equal(conv.input, trace.layers[conv.source].output)
    logits = model.eval()(x).numpy()[0].astype(np.float64)
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(trace.probabilities, softmax, rtol=1e-5)
    assert trace.predicted == int(np.argmax(logits))


def test_trace_names_repeat_calls_and_finds_sources():
    trace = trace_model(get_model("lenet5"), random_image())
    names = [layer.name for layer in trace.layers]
    assert names[:4] == ["conv1", "relu", "pool1", "conv2"] and "relu#2" in names
    assert [layer.conv.source for layer in trace.layers if layer.conv] == [-1, 2]
    grouped = trace_model(Branchy(), random_image()).layers[1]
    assert grouped.name == "grouped" and grouped.conv.source is None   # it read y + x
    assert grouped.conv.padding == (1, 1, 1, 1) and grouped.conv.groups == 2


def test_trace_errors():
    with pytest.raises(ValueError, match=r"trace_model: expected one image as \(1, C, H, W\)"):
        trace_model(get_model("lenet5"), minicnn.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match="Conv2d: no layers to show"):
        trace_model(nn.Conv2d(1, 2, 3), random_image())


# ------------------------------------------------------------------------------ the loaders
def test_load_model_reads_training_checkpoints_and_state_dicts(lenet, training_checkpoint,
                                                               tmp_path):
    x = random_image()
    expected = lenet(x).numpy()
    np.testing.assert_array_equal(load_model(training_checkpoint)(x).numpy(), expected)
    np.testing.assert_array_equal(load_model(training_checkpoint, "lenet5")(x).numpy(), expected)
    with pytest.raises(CheckpointError, match="trained with model 'lenet5', not 'simple_cnn'"):
        load_model(training_checkpoint, "simple_cnn")
    weights = tmp_path / "weights.npz"
    minicnn.save(lenet.state_dict(), weights)
    np.testing.assert_array_equal(load_model(weights, "lenet5")(x).numpy(), expected)
    wrapped = tmp_path / "wrapped.npz"
    minicnn.save({"state_dict": lenet.state_dict(), "epoch": 3}, wrapped)
    np.testing.assert_array_equal(load_model(wrapped, "lenet5")(x).numpy(), expected)
    with pytest.raises(ValueError, match="does not say which model.*--model.*lenet5"):
        load_model(weights)
    with pytest.raises(ValueError, match="weights do not fit 'resnet_mini'"):
        load_model(weights, "resnet_mini")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_model(tmp_path / "none.npz", "lenet5")


# --------------------------------------------------------------------------------- the page
EXTERNAL = re.compile(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|\bsrc\s*=|url\(|@import", re.I)


def assert_self_contained(page: str) -> None:
    assert EXTERNAL.search(page) is None, EXTERNAL.search(page)
    for link in re.findall(r"""href\s*=\s*["']([^"']*)""", page):
        assert link.startswith("data:"), link
    assert page.count("<script") == 2 and "<img" not in page and "<iframe" not in page


@pytest.mark.parametrize("name", ["lenet5", "simple_cnn", "resnet_mini"])
def test_pages_have_no_external_url(tmp_path, no_mnist, name):
    path = write_model_page(trained(name) if name == "lenet5" else get_model(name),
                            tmp_path / "page.html", data_root=no_mnist, model_name=name)
    page = path.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert f"minicnn explain model: {name} reads a drawn 0" in page


def page_json(page: str) -> dict:
    text = re.search(r'<script type="application/json" id="model-data">(.*?)</script>', page,
                     re.S).group(1)
    return json.loads(text)


def test_page_data_is_the_engine_numbers(tmp_path, no_mnist):
    """The embedded JSON reads back to exactly the float32 values of minicnn's forward."""
    model = Branchy()
    page = write_model_page(model, tmp_path / "page.html", data_root=no_mnist).read_text("utf-8")
    assert_self_contained(page)
    data = page_json(page)
    x = model_input(synthetic_digit())
    trace = trace_model(model, x)
    assert data["dtype"] == "float32" and data["predicted"] == trace.predicted
    for shown, layer in zip(data["layers"], trace.layers):
        assert shown["name"] == layer.name and shown["output"]["shape"] == list(layer.output.shape)
        np.testing.assert_array_equal(np.float32(shown["output"]["data"]), layer.output.ravel())
    grouped = data["layers"][1]["conv"]
    np.testing.assert_array_equal(np.float32(grouped["input"]["data"]),
                                  trace.layers[1].conv.input.ravel())
    assert grouped["stride"] == [2, 2] and grouped["dilation"] == [2, 2] and grouped["groups"] == 2


def test_cli_writes_the_page(tmp_path, training_checkpoint, no_mnist, capsys):
    digit = tmp_path / "digit.png"
    from PIL import Image   # the page itself needs no Pillow; reading a PNG digit does
    pixels = (synthetic_digit().pixels * 255).astype(np.uint8)
    Image.fromarray(255 - pixels).save(digit)   # dark on light, as a scanned digit is
    page = tmp_path / "page.html"
    assert cli.main(["explain", "model", "--checkpoint", str(training_checkpoint),
                     "--image", str(digit), "--html", str(page)]) == 0
    assert f"wrote {page}" in capsys.readouterr().out
    text = page.read_text("utf-8")
    assert_self_contained(text)
    assert "LeNet5 reads digit.png" in text
    assert cli.main(["explain", "model", "--checkpoint", str(training_checkpoint), "--model",
                     "lenet5", "--data-root", str(no_mnist), "--html", str(page)]) == 0
    assert cli.main(["explain", "model", "--checkpoint", str(training_checkpoint), "--model",
                     "resnet_mini", "--html", str(page)]) == 1
    assert "trained with model 'lenet5', not 'resnet_mini'" in capsys.readouterr().err


# ------------------------------------------------------------------------------ the browser
@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through its chromedriver; nothing is downloaded."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install chromium and chromium-driver (.ci/run); missing {missing}")
        pytest.skip(f"no headless Chromium here ({', '.join(missing)} missing: "
                    "apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def click_output_pixel(driver, layer: str, channel: int, p: int, q: int, width_cells: int):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.XPATH, f"//section[h2[contains(., ' {layer} (Conv2d)')]]"
                                           f"//canvas[@data-channel='{channel}']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    width, height = int(canvas.get_attribute("width")), int(canvas.get_attribute("height"))
    scale = width // width_cells
    ActionChains(driver).move_to_element_with_offset(
        canvas, round((q + 0.5) * scale - width / 2), round((p + 0.5) * scale - height / 2)
    ).click().perform()


def shown_dot_product(driver) -> dict:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#dot-terms tr.term")
    text = lambda selector: driver.find_element(By.CSS_SELECTOR, selector).text  # noqa: E731
    return {"title": text("#dot-title"),
            "x": [row.find_element(By.CSS_SELECTOR, "td.x").text for row in rows],
            "w": [row.find_element(By.CSS_SELECTOR, "td.w").text for row in rows],
            "bias": text("#dot-bias"), "sum": text("#dot-sum"), "output": text("#dot-output")}


def captured_conv(model: nn.Module, layer: nn.Conv2d, x) -> tuple[np.ndarray, np.ndarray]:
    """(input, output) of ``layer`` in minicnn's own forward, caught by a hook of this test."""
    caught = {}
    handle = layer.register_forward_hook(
        lambda module, args, output: caught.update(input=args[0].numpy()[0],
                                                   output=output.numpy()[0]))
    with minicnn.no_grad():
        model(x)
    handle.remove()
    return caught["input"], caught["output"]


def expected_dot_product(layer: nn.Conv2d, activation: np.ndarray, o: int, p: int, q: int,
                         padding: tuple[int, int]):
    """The window of the previous activation (zero padded) times the weights, plus the bias,
    done here with NumPy indexing, in float64."""
    (sh, sw), (dh, dw), groups = layer.stride, layer.dilation, layer.groups
    weight = layer.weight.numpy()
    per_group = weight.shape[1]
    group = o // (weight.shape[0] // groups)
    padded = np.pad(activation, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    kh, kw = weight.shape[2:]
    rows = p * sh + dh * np.arange(kh)
    cols = q * sw + dw * np.arange(kw)
    window = padded[group * per_group:(group + 1) * per_group][:, rows][:, :, cols]
    bias = layer.bias.numpy()[o]
    total = float((window.astype(np.float64) * weight[o].astype(np.float64)).sum()) + float(bias)
    return window.ravel(), weight[o].ravel(), bias, total


def check_click(driver, model, layer_name, layer, x, o, p, q, padding):
    activation, output = captured_conv(model, layer, x)
    click_output_pixel(driver, layer_name, o, p, q, output.shape[2])
    shown = shown_dot_product(driver)
    assert shown["title"] == f"{layer_name} output [{o}, {p}, {q}]"
    window, weights, bias, total = expected_dot_product(layer, activation, o, p, q, padding)
    np.testing.assert_array_equal(np.float32(shown["x"]), window)      # exact: shortest repr
    np.testing.assert_array_equal(np.float32(shown["w"]), weights)
    assert np.float32(shown["bias"]) == bias
    assert float(shown["sum"]) == pytest.approx(total, rel=1e-9, abs=1e-12)
    assert np.float32(shown["output"]) == output[o, p, q]
    assert float(shown["output"]) == pytest.approx(total, rel=1e-5, abs=1e-6)
    torch_out = tF.conv2d(torch.from_numpy(activation[None]), torch.from_numpy(layer.weight.numpy()),
                          torch.from_numpy(layer.bias.numpy()), layer.stride, padding,
                          layer.dilation, layer.groups)[0, o, p, q].item()
    assert total == pytest.approx(torch_out, rel=1e-5, abs=1e-6)
    print(f"{layer_name}[{o}, {p}, {q}]: {len(window)} terms, "
          f"{int((window != 0).sum())} nonzero inputs, bias {shown['bias']}, "
          f"shown sum {shown['sum']} (test's float64 sum {total!r}), "
          f"minicnn output {shown['output']}, torch {torch_out!r}")
    return shown


def no_console_errors(driver) -> None:
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_browser_page_shows_the_dot_product_of_a_clicked_pixel(browser, training_checkpoint,
                                                               lenet, tmp_path, no_mnist):
    page = tmp_path / "page.html"
    assert cli.main(["explain", "model", "--checkpoint", str(training_checkpoint),
                     "--data-root", str(no_mnist), "--html", str(page)]) == 0
    browser.get(page.as_uri())
    assert browser.find_element("tag name", "body").get_attribute("data-ready") == "true"
    prediction = browser.find_element("id", "prediction").text
    x = model_input(synthetic_digit())
    assert prediction.startswith(f"predicted class {int(np.argmax(lenet(x).numpy()))} (p = ")
    # conv1 pads 2: its corner pixel reads 9 padding taps of 25; conv2 reads pool1, no padding.
    corner = check_click(browser, lenet, "conv1", lenet.conv1, x, 4, 0, 1, (2, 2))
    assert corner["x"].count("0") >= 10
    check_click(browser, lenet, "conv2", lenet.conv2, x, 3, 6, 4, (0, 0))
    no_console_errors(browser)
    screenshot = tmp_path / "explain-model.png"
    assert browser.save_screenshot(str(screenshot))
    if os.environ.get("MINICNN_SCREENSHOT"):   # how docs/images/explain-model.png was made
        shutil.copyfile(screenshot, os.environ["MINICNN_SCREENSHOT"])


def test_browser_user_module_grouped_dilated_conv(browser, tmp_path, no_mnist):
    """A conv with stride 2, padding 1, dilation 2 and 2 groups that reads y + x (drawn in the
    side panel, since no layer section shows that sum)."""
    model = Branchy().eval()
    page = write_model_page(model, tmp_path / "user.html", data_root=no_mnist)
    browser.get(page.as_uri())
    x = model_input(synthetic_digit())
    shown = check_click(browser, model, "grouped", model.grouped, x, 3, 0, 5, (1, 1))
    assert len(shown["x"]) == 2 * 9   # 2 channels per group, 3x3 taps
    no_console_errors(browser)
