"""minicnn.vision.transforms against hand arithmetic: layouts, scaling, geometry, randomness."""
from __future__ import annotations

import math
import re
import sys

import numpy as np
import pytest
from parity import RNG, rand

import minicnn
from minicnn import Tensor
from minicnn.vision import transforms as T
from minicnn.vision.transforms import functional as F

_rng = RNG  # parity's generator, reseeded before every test (conftest.py)


def pixels(*shape) -> np.ndarray:
    """Fresh random uint8 pixels, with no zeros so that fill or padding is distinguishable."""
    return _rng.integers(1, 256, size=shape, dtype=np.uint8)


def shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``image`` (..., H, W) moved dx pixels right and dy down, zeros where nothing came in."""
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


# ---------------------------------------------------------------------------- ToTensor
def test_to_tensor_scales_uint8_and_adds_channel_axis():
    image = pixels(5, 7)
    out = T.ToTensor()(image)
    assert isinstance(out, Tensor) and out.shape == (1, 5, 7) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy()[0], image.astype(np.float32) / np.float32(255))
    assert out.numpy().min() >= 0 and out.numpy().max() <= 1


def test_to_tensor_moves_channels_first():
    image = pixels(4, 6, 3)
    out = T.ToTensor()(image).numpy()
    assert out.shape == (3, 4, 6) and out.flags.c_contiguous
    for c in range(3):
        for i in range(4):
            for j in range(6):
                assert out[c, i, j] == np.float32(image[i, j, c]) / np.float32(255)


def test_to_tensor_keeps_float_arrays_unscaled(dtype):
    image = rand(5, 4, dtype=dtype)
    out = T.ToTensor()(image)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy()[0], image)


def test_to_tensor_follows_default_dtype():
    minicnn.set_default_dtype(minicnn.float64)
    try:
        assert T.ToTensor()(pixels(3, 3)).dtype == np.float64
    finally:
        minicnn.set_default_dtype(minicnn.float32)


def test_to_tensor_accepts_pil_images():
    Image = pytest.importorskip("PIL.Image")
    image = pixels(6, 5)
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(image)).numpy(), T.ToTensor()(image).numpy())


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (Tensor(np.zeros((1, 3, 3), np.float32)), TypeError, "got Tensor"),
        ([[1, 2], [3, 4]], TypeError, "got list"),
        (np.zeros((1, 2, 3, 3), np.uint8), ValueError, "shape (1, 2, 3, 3)"),
    ],
)
def test_to_tensor_rejects_bad_input(bad, error, words):
    with pytest.raises(error, match=r"to_tensor: expected") as info:
        T.ToTensor()(bad)
    assert words in str(info.value)


# ---------------------------------------------------------------------------- Normalize
def test_normalize_per_channel(dtype):
    x = rand(3, 4, 5, dtype=dtype)
    mean, std = (0.5, -0.25, 1.5), (2.0, 0.5, 3.0)
    out = T.Normalize(mean, std)(Tensor(x.copy()))
    want = np.stack([(x[c] - mean[c]) / std[c] for c in range(3)])
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert out.dtype == dtype


def test_normalize_broadcasts_over_a_batch_and_single_values():
    x = rand(2, 3, 4, 4, dtype=np.float32)
    out = T.Normalize((0.1307,), (0.3081,))(Tensor(x))
    np.testing.assert_allclose(out.numpy(), (x - np.float32(0.1307)) / np.float32(0.3081), rtol=1e-6)


def test_normalize_inplace_changes_and_returns_its_input():
    x = rand(1, 3, 3, dtype=np.float64)
    t = Tensor(x.copy())
    out = T.Normalize((1.0,), (2.0,), inplace=True)(t)
    assert out is t
    np.testing.assert_allclose(t.numpy(), (x - 1) / 2)


def test_normalize_is_differentiable():
    t = minicnn.tensor(rand(2, 3, 3), requires_grad=True)
    F.normalize(t, (0.0, 1.0), (2.0, 4.0)).backward(Tensor(np.ones((2, 3, 3))))
    want = np.stack([np.full((3, 3), 1 / 2), np.full((3, 3), 1 / 4)])
    np.testing.assert_allclose(t.grad.numpy(), want)


@pytest.mark.parametrize(
    "bad, mean, std, error, words",
    [
        (np.zeros((1, 2, 2), np.float32), (0.0,), (1.0,), TypeError, "apply ToTensor first"),
        (Tensor(np.zeros((1, 2, 2), np.int64)), (0.0,), (1.0,), TypeError, "floating-point"),
        (Tensor(np.zeros((2, 2), np.float32)), (0.0,), (1.0,), ValueError, "(..., C, H, W)"),
        (Tensor(np.zeros((1, 2, 2), np.float32)), (0.0,), (0.0,), ValueError, "division by zero"),
        (Tensor(np.zeros((1, 2, 2), np.float32)), (0.0, 0.0, 0.0), (1.0,), ValueError, "3 mean values"),
    ],
)
def test_normalize_rejects_bad_input(bad, mean, std, error, words):
    with pytest.raises(error, match="normalize") as info:
        T.Normalize(mean, std)(bad)
    assert words in str(info.value)


# ---------------------------------------------------------------------------- flips and crops
@pytest.mark.parametrize("layout", ["HW", "HWC", "CHW tensor", "NCHW tensor"])
def test_horizontal_flip_p1_is_an_exact_mirror(layout):
    if layout == "HW":
        image = pixels(4, 5)
        want = image[:, ::-1]
    elif layout == "HWC":
        image = pixels(4, 5, 3)
        want = image[:, ::-1, :]
    else:
        array = rand(2, 3, 4, 5) if layout == "NCHW tensor" else rand(3, 4, 5)
        image, want = Tensor(array), array[..., ::-1]
    out = T.RandomHorizontalFlip(p=1.0)(image)
    assert type(out) is type(image)
    np.testing.assert_array_equal(out.numpy() if isinstance(out, Tensor) else out, want)


def test_horizontal_flip_p0_returns_the_image():
    image = pixels(3, 3)
    assert T.RandomHorizontalFlip(p=0.0)(image) is image


def test_random_crop_with_padding_is_a_window_of_the_padded_image():
    image = pixels(10, 10)
    padded = np.zeros((14, 14), np.uint8)
    padded[2:12, 2:12] = image
    minicnn.manual_seed(3)
    for _ in range(5):
        out = T.RandomCrop(10, padding=2)(image)
        matches = [(i, j) for i in range(5) for j in range(5) if np.array_equal(out, padded[i : i + 10, j : j + 10])]
        assert len(matches) == 1, "the crop must be exactly one 10x10 window of the zero-padded image"


def test_random_crop_pad_if_needed_and_full_size():
    image = pixels(3, 4)
    out = T.RandomCrop((5, 6), pad_if_needed=True)(image)
    assert out.shape == (5, 6)
    assert (out != 0).sum() == image.size  # every pixel survived, the rest is the zero fill
    assert T.RandomCrop((3, 4))(image).tolist() == image.tolist()


@pytest.mark.parametrize(
    "mode, want",
    [
        ("constant", [[9, 9, 9, 9], [9, 1, 2, 9], [9, 3, 4, 9], [9, 9, 9, 9]]),
        ("edge", [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]),
        ("reflect", [[4, 3, 4, 3], [2, 1, 2, 1], [4, 3, 4, 3], [2, 1, 2, 1]]),
        ("symmetric", [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]),
    ],
)
def test_pad_modes_by_hand(mode, want):
    image = np.array([[1, 2], [3, 4]], np.uint8)
    np.testing.assert_array_equal(F.pad(image, 1, fill=9, padding_mode=mode), want)


def test_pad_left_top_right_bottom():
    out = F.pad(Tensor(np.ones((1, 2, 2))), [1, 2, 3, 4])
    assert out.shape == (1, 2 + 2 + 4, 2 + 1 + 3)
    np.testing.assert_array_equal(out.numpy()[0, 2:4, 1:3], np.ones((2, 2)))


def test_crop_errors():
    with pytest.raises(ValueError, match=r"RandomCrop: required crop size \(5, 5\) is larger than input image size \(3, 3\)"):
        T.RandomCrop(5)(pixels(3, 3))
    with pytest.raises(ValueError, match="crop: the box top=2, left=0, height=2, width=2 does not fit"):
        F.crop(pixels(3, 3), 2, 0, 2, 2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        T.RandomCrop(3, padding=1, padding_mode="wrap")


# ---------------------------------------------------------------------------- rotation and affine
def interior(a: np.ndarray) -> np.ndarray:
    return a[..., 1:-1, 1:-1]


@pytest.mark.parametrize("size", [5, 6, 9])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_rotation_by_90_is_rot90_counter_clockwise(size, interpolation):
    image = pixels(size, size)
    out = T.RandomRotation(degrees=(90, 90), interpolation=interpolation)(image)
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(interior(out), interior(np.rot90(image, k=1)))


@pytest.mark.parametrize("angle, turns", [(-90, -1), (180, 2), (270, 3)])
def test_rotation_other_right_angles(angle, turns, dtype):
    image = rand(2, 3, 7, 7, dtype=dtype)
    out = T.RandomRotation((angle, angle), interpolation="bilinear")(Tensor(image))
    assert out.dtype == dtype and out.shape == image.shape
    np.testing.assert_allclose(interior(out.numpy()), interior(np.rot90(image, k=turns, axes=(-2, -1))), atol=1e-12 if dtype == np.float64 else 1e-5)


def test_rotation_about_an_explicit_centre_and_with_expand():
    image = pixels(6, 6)
    # The default centre is (W/2, H/2) in pixel coordinates whose origin is the top-left corner.
    np.testing.assert_array_equal(F.rotate(image, 90, center=(3.0, 3.0)), F.rotate(image, 90))
    wide = pixels(4, 6)
    np.testing.assert_array_equal(F.rotate(wide, 90, expand=True), np.rot90(wide))
    # torchvision (like PIL) rounds the turned corners outwards in corner-origin coordinates:
    # 5x5 at 45 degrees spans 2.5 +- 2.5 * sqrt(2) = [-1.04, 6.04] -> floor/ceil -> 9 pixels;
    # a 4x7 image at 90 degrees spans x in 3.5 +- 2 = [1.5, 5.5] -> 5, y in 2 +- 3.5 -> 8.
    assert F.rotate(pixels(5, 5), 45, expand=True).shape == (9, 9)
    assert F.rotate(pixels(4, 7), 90, expand=True).shape == (8, 5)


def blob_centroid(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return float((image * cols).sum() / image.sum()), float((image * rows).sum() / image.sum())


def test_rotation_direction_at_an_oblique_angle():
    """A blob 6 px right of the centre, turned 30 degrees counter-clockwise on screen (y down)."""
    image = np.zeros((21, 21))
    image[9:12, 15:18] = 1.0  # centred at x = 16, y = 10; the image centre is (10, 10)
    x, y = blob_centroid(F.rotate(image, 30, interpolation="bilinear"))
    want_x, want_y = 10 + 6 * math.cos(math.radians(30)), 10 - 6 * math.sin(math.radians(30))
    assert abs(x - want_x) < 0.05 and abs(y - want_y) < 0.05


def test_affine_angle_is_clockwise_as_in_torchvision():
    image = pixels(7, 7)
    np.testing.assert_array_equal(interior(T.RandomAffine(degrees=(90, 90))(image)), interior(np.rot90(image, k=-1)))


@pytest.mark.parametrize("dx, dy", [(2, -1), (-3, 0), (0, 3), (1, 1)])
def test_affine_translation_by_whole_pixels_is_a_shift(dx, dy):
    image = rand(3, 8, 9)
    out = F.affine(Tensor(image), angle=0, translate=(dx, dy), scale=1, shear=0)
    np.testing.assert_allclose(out.numpy(), shifted(image, dx, dy), atol=1e-12)


def test_random_affine_translate_draws_a_whole_pixel_shift_within_bounds():
    image = pixels(12, 12)
    minicnn.manual_seed(11)
    seen = set()
    for _ in range(8):
        out = T.RandomAffine(degrees=0, translate=(0.25, 0.25))(image)
        shifts = [(dx, dy) for dx in range(-3, 4) for dy in range(-3, 4) if np.array_equal(out, shifted(image, dx, dy))]
        assert len(shifts) == 1, "the output must be the input shifted by whole pixels within 0.25 * 12 = 3"
        seen.add(shifts[0])
    assert len(seen) > 1


def test_affine_scale_about_the_centre():
    image = pixels(9, 9)
    out = F.affine(image, angle=0, translate=(0, 0), scale=2.0, shear=0)
    # Output pixel centre + 2k samples input pixel centre + k (centre index 4).
    for k_row in range(-2, 3):
        for k_col in range(-2, 3):
            assert out[4 + 2 * k_row, 4 + 2 * k_col] == image[4 + k_row, 4 + k_col]


def test_affine_shear_x_by_45_degrees():
    image = pixels(7, 7)
    out = F.affine(image, angle=0, translate=(0, 0), scale=1.0, shear=45.0)
    # Forward map x' = x - tan(45) * y (centred), so output (r, q) samples input (r, q + (r - 3)).
    for r in range(7):
        for q in range(7):
            source = q + (r - 3)
            assert out[r, q] == (image[r, source] if 0 <= source < 7 else 0)


def test_rotation_fill_value_per_channel():
    image = np.ones((4, 4, 3), np.uint8)
    out = F.rotate(image, 45, fill=(10, 20, 30))
    assert out[0, 0].tolist() == [10, 20, 30]


def test_rotation_of_pil_images_returns_pil_images():
    Image = pytest.importorskip("PIL.Image")
    image = pixels(5, 5)
    out = T.RandomRotation((90, 90))(Image.fromarray(image))
    assert isinstance(out, Image.Image)
    np.testing.assert_array_equal(np.asarray(out), np.rot90(image))


def test_pillow_fallback_when_scipy_is_missing(monkeypatch):
    pytest.importorskip("PIL.Image")
    image = pixels(7, 7)
    with_scipy = F.rotate(image.astype(np.float32), 17, interpolation="bilinear")
    monkeypatch.setitem(sys.modules, "scipy", None)  # `from scipy import ndimage` now raises ImportError
    np.testing.assert_array_equal(interior(F.rotate(image, 90)), interior(np.rot90(image)))
    np.testing.assert_array_equal(F.affine(image, 0, (2, -1), 1, 0), shifted(image, 2, -1))
    with_pillow = F.rotate(image.astype(np.float32), 17, interpolation="bilinear")
    # Same geometry; the two libraries differ only in how they blend at the border.
    np.testing.assert_allclose(with_pillow[2:-2, 2:-2], with_scipy[2:-2, 2:-2], rtol=1e-4)


def test_clear_error_when_neither_scipy_nor_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="SciPy or Pillow"):
        F.rotate(pixels(3, 3), 10)


# ---------------------------------------------------------------------------- RandomErasing
def test_random_erasing_erases_one_rectangle_within_the_scale_bounds():
    minicnn.manual_seed(5)
    scale, ratio = (0.05, 0.2), (0.5, 2.0)
    for _ in range(10):
        x = rand(3, 20, 24, dtype=np.float32)  # normal values: never exactly 0
        out = T.RandomErasing(p=1.0, scale=scale, ratio=ratio, value=0)(Tensor(x)).numpy()
        erased = out == 0
        assert (erased == erased[0]).all(), "the same box in every channel"
        rows, cols = np.nonzero(erased[0])
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert erased[0].sum() == h * w, "the erased pixels form a full rectangle"
        area = 20 * 24
        # h and w are rounded from sqrt(area * s * r) and sqrt(area * s / r): allow half a pixel each.
        assert (h - 0.5) * (w - 0.5) <= scale[1] * area and (h + 0.5) * (w + 0.5) >= scale[0] * area
        np.testing.assert_array_equal(out[~erased], x[~erased])


def test_random_erasing_values_and_inplace():
    x = rand(3, 16, 16, dtype=np.float64)
    out = T.RandomErasing(p=1.0, value=(1.5, 2.5, 3.5))(Tensor(x.copy())).numpy()
    changed = out != x
    for c, v in enumerate((1.5, 2.5, 3.5)):
        assert changed[c].any() and (out[c][changed[c]] == v).all()
    t = Tensor(x.copy())
    assert T.RandomErasing(p=1.0, value="random", inplace=True)(t) is t
    assert (t.numpy() != x).any() and np.isfinite(t.numpy()).all()
    assert T.RandomErasing(p=0.0)(t) is t


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(value="noise"), ValueError, "'random'"),
        (dict(scale=(0.5, 0.1)), ValueError, "ranges (min, max)"),
        (dict(scale=(0.1, 1.5)), ValueError, "between 0 and 1"),
        (dict(p=1.5), ValueError, "[0, 1]"),
    ],
)
def test_random_erasing_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match="RandomErasing") as info:
        T.RandomErasing(**kwargs)
    assert words in str(info.value)


def test_random_erasing_needs_a_tensor_and_matching_value_count():
    with pytest.raises(TypeError, match="apply ToTensor first"):
        T.RandomErasing(p=1.0)(pixels(4, 4))
    with pytest.raises(ValueError, match="1 or 3 \\(the number of input channels\\)"):
        T.RandomErasing(p=1.0, value=(1, 2))(Tensor(rand(3, 8, 8)))


# ---------------------------------------------------------------------------- composition, randomness, errors
def augmentation() -> T.Compose:
    return T.Compose([
        T.RandomRotation(30, interpolation="bilinear"),
        T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=(-5, 5, -5, 5)),
        T.RandomHorizontalFlip(),
        T.RandomCrop(28, padding=2),
        T.ToTensor(),
        T.Normalize((0.1307,), (0.3081,)),
        T.RandomErasing(p=1.0, value="random"),
    ])


def test_manual_seed_reproduces_augmentation():
    image = pixels(28, 28)
    minicnn.manual_seed(1234)
    first = [augmentation()(image).numpy() for _ in range(3)]
    minicnn.manual_seed(1234)
    second = [augmentation()(image).numpy() for _ in range(3)]
    minicnn.manual_seed(4321)
    other = augmentation()(image).numpy()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other)
    assert not np.array_equal(first[0], first[1])


def test_lambda_and_compose_repr():
    double = T.Lambda(lambda x: x * 2)
    assert double(3) == 6
    text = repr(T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    assert text == "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n)"
    with pytest.raises(TypeError, match="Lambda: argument lambd should be callable, got 'int'"):
        T.Lambda(3)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: T.RandomRotation(-5), ValueError, "RandomRotation: if degrees is a single number, it must be non-negative"),
        (lambda: T.RandomRotation((1, 2, 3)), ValueError, "RandomRotation: degrees must be a number or a sequence of length 2"),
        (lambda: T.RandomRotation(5, interpolation="bicubic"), ValueError, "interpolation must be one of nearest, bilinear"),
        (lambda: T.RandomAffine(0, translate=(1.5, 0)), ValueError, "RandomAffine: translate must be two fractions"),
        (lambda: T.RandomAffine(0, scale=(-1, 2)), ValueError, "RandomAffine: scale must be two positive"),
        (lambda: T.RandomAffine(0, shear=(1, 2, 3)), ValueError, "RandomAffine: shear must be a number or a sequence of length 2 or 4"),
        (lambda: T.RandomHorizontalFlip(p=-0.1), ValueError, "RandomHorizontalFlip: probability p must be in [0, 1]"),
        (lambda: T.RandomCrop(0), ValueError, "RandomCrop: size must be a positive int"),
    ],
)
def test_bad_arguments_are_named(make, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make()


@pytest.mark.parametrize("op", [F.hflip, lambda img: F.rotate(img, 10), lambda img: F.affine(img, 0, (1, 1), 1, 0)])
def test_geometric_ops_reject_unknown_image_kinds(op):
    with pytest.raises(TypeError, match="expected a NumPy array \\(H, W\\) or \\(H, W, C\\), a PIL image or a minicnn Tensor"):
        op([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="expected a NumPy image \\(H, W\\) or \\(H, W, C\\), got shape \\(1, 2, 3, 4\\)"):
        op(np.zeros((1, 2, 3, 4)))


def test_fill_must_match_the_channels():
    with pytest.raises(ValueError, match="rotate: fill has 2 values for an image with 3 channels"):
        F.rotate(pixels(4, 4, 3), 10, fill=(1, 2))


def test_batched_only_for_exact_to_tensor_and_normalize():
    class MyToTensor(T.ToTensor):
        pass

    images = pixels(4, 6, 6)
    pipeline = T.Compose([T.ToTensor(), T.Normalize((0.2,), (0.7,))])
    whole = T.batched(pipeline)(images)
    assert isinstance(whole, Tensor) and whole.shape == (4, 1, 6, 6)
    for image, got in zip(images, whole.numpy()):
        np.testing.assert_array_equal(got, pipeline(image).numpy())  # bit for bit
    assert T.batched(T.ToTensor()) is not None
    for other in (None, MyToTensor(), T.Compose([]), T.Compose([T.RandomHorizontalFlip(), T.ToTensor()]),
                  T.Compose([T.ToTensor(), T.RandomErasing()])):
        assert T.batched(other) is None
