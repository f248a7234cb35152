"""conv2d's fft, winograd and auto algorithms: what is particular to each, and the cases beyond
the shared sweep. The shared geometry sweep (helpers.cases.CONV_CASES) runs every algorithm,
these included, on every backend in tests/test_conv.py; here, large kernels for every
implementation and the extra 3x3 stride-1 cases for winograd.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import minicnn
import minicnn.nn.functional as F
from minicnn.backends import select_backend, use_backend
from minicnn.functional import conv
from minicnn.backends import registry as implementations
from minicnn.functional.conv import auto, direct, registry, winograd
from minicnn.tuned.numpy import im2col
from minicnn.tuned.numpy import winograd as tuned_winograd
from helpers.cases import CONV_CASES, conv_both, conv_inputs
from parity import call_on, check, rand, run_both, sweep

# torch warns that it pads a copy of the input for "same" with an even kernel; that is torch's business.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture(autouse=True)
def fresh_auto_cache():
    """Every test starts and ends with an empty auto cache, so no test sees another's choices, and
    any algorithm a test registers is gone after it."""
    conv.clear_auto_cache()
    with implementations.snapshot():
        yield
    conv.clear_auto_cache()


def _geometry(x_shape, w_shape, kwargs):
    return conv.conv2d_geometry(x_shape, w_shape, None, **kwargs)


# Large kernels are the FFT's home ground; the shared sweep has none.
FFT_LARGE_KERNEL_CASES = [
    pytest.param((2, 3, 20, 18), (4, 3, 9, 7), dict(stride=(2, 3), padding=(3, 1), dilation=(1, 2)),
                 id="large_kernel_strided_dilated"),
    pytest.param((2, 4, 16, 16), (4, 2, 11, 11), dict(padding=5, groups=2), id="large_kernel_groups"),
]

# Beyond the shared sweep's 3x3 stride-1 cases, which test_conv.py runs winograd on.
WINOGRAD_EXTRA_CASES = [
    pytest.param((2, 5, 9, 4), (4, 5, 3, 3), dict(padding=(0, 3)), id="unequal_row_and_column_padding"),
    pytest.param((2, 2, 8, 10), (3, 2, 3, 3), dict(padding=(2, 0)), id="even_output_whole_tiles"),
    pytest.param((1, 6, 4, 4), (6, 3, 3, 3), dict(padding="same", groups=2), id="same_groups"),
    pytest.param((2, 3, 3, 3), (2, 3, 3, 3), {}, id="single_output_pixel"),
]


def test_winograd_sweep_covers_odd_outputs_groups_and_empty_batch():
    prefix = "numpy-winograd-"
    ids = {param.id.removeprefix(prefix) for param in sweep("conv2d", CONV_CASES) if param.id.startswith(prefix)}
    assert {"odd_square", "groups2", "depthwise", "valid", "batch1", "empty_batch"} <= ids
    assert not ids & {"stride_not_dividing", "dilated", "pointwise", "same_even_kernel"}  # not F(2x2, 3x3)'s


def test_new_algorithms_are_registered():
    assert {"im2col", "direct", "fft", "winograd", "auto"} <= set(conv.available_algorithms())


@pytest.mark.parametrize("backend, algorithm, x_shape, w_shape, kwargs", sweep("conv2d", FFT_LARGE_KERNEL_CASES))
def test_large_kernels_match_torch(backend, algorithm, x_shape, w_shape, kwargs, dtype):
    arrays = conv_inputs(x_shape, w_shape, dtype)
    mini, ref = run_both(call_on("conv2d", backend, algorithm=algorithm, **kwargs), *arrays)
    check(mini, ref, dtype, f"conv2d[{backend}, {algorithm}] {x_shape} {w_shape} {kwargs}")


WINOGRAD_SWEEP = [param for param in sweep("conv2d", WINOGRAD_EXTRA_CASES) if param.values[1] in ("winograd", None)]


@pytest.mark.parametrize("backend, algorithm, x_shape, w_shape, kwargs", WINOGRAD_SWEEP)
def test_winograd_matches_torch(backend, algorithm, x_shape, w_shape, kwargs, dtype):
    # The default float32 tolerance (2e-5 of the largest value) holds: Winograd's float32 error
    # is about 1.5x the direct one, ~3e-7 here (see test_winograd_float32_error_is_close_to_direct).
    arrays = conv_inputs(x_shape, w_shape, dtype)
    mini, ref = run_both(call_on("conv2d", backend, algorithm=algorithm, **kwargs), *arrays)
    check(mini, ref, dtype, f"conv2d[{backend}, winograd] {x_shape} {w_shape} {kwargs}")


@pytest.mark.parametrize("algorithm", ["fft", "winograd", "auto"])
def test_unbatched_input_matches_torch(algorithm, dtype):
    x_shape, w_shape, kwargs = (4, 7, 6), (4, 2, 3, 3), dict(padding=(2, 1), groups=2)
    mini, ref = run_both(conv_both(algorithm, **kwargs), *conv_inputs(x_shape, w_shape, dtype))
    assert len(mini.out.shape) == 3
    check(mini, ref, dtype, f"unbatched conv2d[{algorithm}]")


@pytest.mark.parametrize(
    "algorithm, x_shape, w_shape, kwargs",
    [
        pytest.param("fft", (2, 4, 5, 4), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
                     id="fft_strided_dilated_groups"),
        pytest.param("fft", (2, 5, 4), (3, 2, 2, 3), dict(padding="same"), id="fft_unbatched_same_even"),
        pytest.param("winograd", (2, 4, 5, 4), (4, 2, 3, 3), dict(padding=(1, 2), groups=2), id="winograd_groups"),
        pytest.param("winograd", (2, 5, 4), (3, 2, 3, 3), dict(padding="same"), id="winograd_unbatched_same"),
        pytest.param("auto", (2, 4, 5, 4), (4, 2, 3, 3), dict(padding=1, groups=2), id="auto_groups"),
    ],
)
def test_gradcheck(algorithm, x_shape, w_shape, kwargs):
    tensors = [minicnn.tensor(a, requires_grad=True) for a in conv_inputs(x_shape, w_shape, np.float64)]
    assert minicnn.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs, algorithm=algorithm), tensors)


# --- winograd -------------------------------------------------------------------------------------


def test_winograd_1d_transforms_compute_two_outputs_of_a_3_tap_correlation():
    d, g = rand(4), rand(3)
    y = winograd.A_T @ ((winograd.G @ g) * (winograd.B_T @ d))
    by_hand = [d[0] * g[0] + d[1] * g[1] + d[2] * g[2], d[1] * g[0] + d[2] * g[1] + d[3] * g[2]]
    np.testing.assert_allclose(y, by_hand, rtol=1e-12, atol=1e-12)


def test_winograd_2d_tile_is_the_nested_1d_algorithm():
    d, g = rand(4, 4), rand(3, 3)
    a_t, g_matrix, b_t = winograd.A_T, winograd.G, winograd.B_T
    y = a_t @ ((g_matrix @ g @ g_matrix.T) * (b_t @ d @ b_t.T)) @ a_t.T
    by_hand = [[(d[p : p + 3, q : q + 3] * g).sum() for q in range(2)] for p in range(2)]
    np.testing.assert_allclose(y, by_hand, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("matrix", [
    winograd.B_T, winograd.A_T, winograd.G, winograd.A_T.T, winograd.G.T,
    np.array([[0, -1, 1, 0], [-1, 0, 0, -1], [0.5, 0, -2, 1], [0, 0, 0, -1]]),  # -1 first, scales, one term
], ids=["B_T", "A_T", "G", "A", "G_T", "mixed"])
def test_winograd_transform_additions_equal_the_matrix_product(matrix):
    """The transforms skip zeros and turn ±1 into additions: against the plain matrix product,
    along the first axis and as the two-sided sandwich (an array of 8 MiB is split over the cores)."""
    rows = rand(matrix.shape[1], 3, 5, 2)
    np.testing.assert_allclose(tuned_winograd._combine_rows(matrix, rows), np.tensordot(matrix, rows, axes=1),
                               rtol=1e-12, atol=1e-12)
    tiles = rand(matrix.shape[1], matrix.shape[1], 64, 1000)
    np.testing.assert_allclose(tuned_winograd._sandwich(matrix, tiles), np.einsum("ia,ab...,jb->ij...", matrix, tiles, matrix),
                               rtol=1e-12, atol=1e-12)


def test_winograd_input_transform_is_b_t_d_b_of_every_overlapping_tile():
    """The separable, parity-split input transform against B^T d B computed tile by tile."""
    x = rand(2, 3, 5, 6)
    padding, output_size = (1, 0, 2, 1), (4, 7)  # odd output rows: the last tile reads extra zeros
    v = tuned_winograd._transformed_input(x, 1, padding, output_size)
    th, tw = winograd.tile_counts(output_size)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 2 * th + 2 - 5 - 1), (2, 2 * tw + 2 - 6 - 2)))
    b_t = winograd.B_T
    want = np.empty((4, 4, 3, 2, th, tw))
    for n in range(2):
        for c in range(3):
            for s in range(th):
                for t in range(tw):
                    want[:, :, c, n, s, t] = b_t @ padded[n, c, 2 * s : 2 * s + 4, 2 * t : 2 * t + 4] @ b_t.T
    np.testing.assert_allclose(v.reshape(want.shape), want, rtol=1e-12, atol=1e-12)


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())


def test_winograd_float32_error_is_close_to_direct():
    """Output and both gradients in float32, each against direct in float64.

    Measured over 300 draws of this shape: Winograd's error / direct's error has median ~1.5
    (y, grad x) and ~1.3 (grad w), worst 2.6; both errors are ~1e-7 to 6e-7. The bound is 4x.
    """
    x, w = rand(2, 16, 10, 10), rand(16, 16, 3, 3)
    geometry = _geometry(x.shape, w.shape, dict(padding=1))
    reference_y = direct.forward(x, w, geometry)
    grad_y = rand(*reference_y.shape)
    reference = [reference_y, *direct.backward(grad_y, x, w, geometry, True, True)]
    x32, w32, grad_y32 = (a.astype(np.float32) for a in (x, w, grad_y))
    errors = {}
    for algorithm in (direct, winograd):
        got = [algorithm.forward(x32, w32, geometry), *algorithm.backward(grad_y32, x32, w32, geometry, True, True)]
        errors[algorithm] = [_relative_error(g, r) for g, r in zip(got, reference)]
    for what, direct_error, winograd_error in zip(("output", "grad x", "grad w"), errors[direct], errors[winograd]):
        assert winograd_error <= 4 * direct_error, (
            f"winograd float32 {what}: relative error {winograd_error:.2e} > 4 x direct's {direct_error:.2e}"
        )


@pytest.mark.parametrize(
    "w_shape, kwargs, got",
    [
        pytest.param((2, 2, 5, 5), {}, r"kernel \(5, 5\), stride \(1, 1\), dilation \(1, 1\)", id="5x5"),
        pytest.param((2, 2, 3, 2), {}, r"kernel \(3, 2\), stride \(1, 1\), dilation \(1, 1\)", id="3x2"),
        pytest.param((2, 2, 1, 1), {}, r"kernel \(1, 1\), stride \(1, 1\), dilation \(1, 1\)", id="1x1"),
        pytest.param((2, 2, 3, 3), dict(stride=(1, 2)), r"kernel \(3, 3\), stride \(1, 2\), dilation \(1, 1\)",
                     id="strided"),
        pytest.param((2, 2, 3, 3), dict(dilation=2), r"kernel \(3, 3\), stride \(1, 1\), dilation \(2, 2\)",
                     id="dilated"),
    ],
)
def test_winograd_rejects_other_geometries(w_shape, kwargs, got):
    x, w = minicnn.tensor(rand(1, 2, 9, 9)), minicnn.tensor(rand(*w_shape))
    message = (r"conv2d: algorithm 'winograd' \(F\(2x2, 3x3\)\) supports only 3x3 kernels with stride 1 and "
               rf"dilation 1, got {got}; use 'im2col', 'direct' or 'fft'")
    with pytest.raises(ValueError, match=message):
        F.conv2d(x, w, **kwargs, algorithm="winograd")


def test_applicable_algorithms_follow_supports():
    three_by_three = _geometry((1, 2, 6, 6), (2, 2, 3, 3), dict(padding=1))
    strided = _geometry((1, 2, 6, 6), (2, 2, 3, 3), dict(stride=2))
    assert {"im2col", "direct", "fft", "winograd", "auto"} <= set(registry.applicable_algorithms(three_by_three))
    assert {"im2col", "direct", "fft", "auto"} <= set(registry.applicable_algorithms(strided))
    assert "winograd" not in registry.applicable_algorithms(strided)


# --- auto -----------------------------------------------------------------------------------------


class _FakeClock:
    """auto's timer, made to stand still until a run advances it by that run's made-up duration."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch) -> _FakeClock:
    clock = _FakeClock()
    monkeypatch.setattr(auto, "clock", clock)
    return clock


def test_seconds_warms_up_then_times_the_candidates_in_turns_and_keeps_each_ones_best_round(fake_clock):
    calls = []
    durations = {"a": 1.0, "b": 2.5, "c": 0.25}

    def run(name):
        calls.append(name)
        fake_clock.advance(durations[name])

    seconds = auto.measure({name: functools.partial(run, name) for name in durations}, np.empty(1))
    # the warm-up round, then the timed rounds: each candidate twice in a row, the second run timed
    assert calls == ["a", "b", "c"] + ["a", "a", "b", "b", "c", "c"] * auto.TIMED_RUNS
    assert seconds == durations  # only the timed run is on the clock, not its untimed twin nor the others


def test_seconds_keeps_the_best_round_not_the_mean(monkeypatch, fake_clock):
    monkeypatch.setattr(auto, "TIMED_RUNS", 3)
    durations = iter([0.0, 0.0, 0.09, 0.0, 0.03, 0.0, 0.06])  # warm-up, then three (untimed, timed) rounds

    seconds = auto.measure({"uneven": lambda: fake_clock.advance(next(durations))}, np.empty(1))
    assert seconds["uneven"] == pytest.approx(0.03, abs=1e-12)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs",
    [
        pytest.param((2, 3, 8, 8), (4, 3, 3, 3), dict(padding=1), id="3x3_all_apply"),
        pytest.param((2, 3, 9, 9), (4, 3, 5, 5), dict(stride=2), id="5x5_strided_no_winograd"),
    ],
)
def test_auto_times_applicable_algorithms_once_per_problem(x_shape, w_shape, kwargs, dtype, monkeypatch):
    timings = []
    real_seconds = auto.measure

    def counting_seconds(runs, array):
        timings.append(set(runs))
        return real_seconds(runs, array)

    monkeypatch.setattr(auto, "measure", counting_seconds)
    backend = select_backend("conv2d", np.empty(0))  # the process default for CPU arrays
    candidates = set(registry.applicable_algorithms(_geometry(x_shape, w_shape, kwargs), backend)) - {"auto"}

    mini, ref = run_both(conv_both("auto", **kwargs), *conv_inputs(x_shape, w_shape, dtype))
    check(mini, ref, dtype, "auto, first call")
    assert timings == [candidates, candidates]  # every candidate's forward, then its backward
    choices = conv.auto_choices()
    assert sorted(key.direction for key in choices) == ["backward", "forward"]
    for key, choice in choices.items():
        assert key.input_shape == x_shape and key.weight_shape == w_shape and key.dtype == np.dtype(dtype).name
        assert key.device == "cpu" and key.backend == backend
        assert choice.algorithm in candidates
        assert set(choice.seconds) == candidates
        assert choice.seconds[choice.algorithm] == min(choice.seconds.values())

    mini, ref = run_both(conv_both("auto", **kwargs), *conv_inputs(x_shape, w_shape, dtype))  # fresh data
    check(mini, ref, dtype, "auto, second call")
    assert len(timings) == 2, "the second call of the same problem timed again"
    assert conv.auto_choices() == choices


class _FakeTimedAlgorithm:
    """im2col under another name, with made-up forward/backward times; logs each call."""

    def __init__(self, name: str, forward_seconds: float, backward_seconds: float, log: list):
        self.name, self.log = name, log
        self.seconds = {"forward": forward_seconds, "backward": backward_seconds}

    def forward(self, x, w, geom):
        self.log.append((self.name, "forward"))
        return im2col.forward(x, w, geom)

    def backward(self, grad_y, x, w, geom, need_input, need_weight):
        self.log.append((self.name, "backward"))
        return im2col.backward(grad_y, x, w, geom, need_input, need_weight)


def _only_fake_timed_algorithms(monkeypatch, *algorithms: _FakeTimedAlgorithm) -> None:
    """Register ``algorithms`` (and auto) as the only ones, timed by their made-up seconds."""
    for name in conv.available_algorithms():
        implementations.unregister("conv2d", name)
    for algorithm in algorithms:
        conv.register_algorithm(algorithm.name, algorithm)
    conv.register_algorithm("auto", auto)
    by_name = {algorithm.name: algorithm for algorithm in algorithms}
    log = algorithms[0].log  # shared by all of them

    def fake_seconds(runs, array):
        seconds = {}
        for run in runs.values():
            run()  # the candidate logs its name; report its made-up time instead of a measured one
            name, direction = log[-1][:2]
            seconds[name] = by_name[name].seconds[direction]
        return seconds

    monkeypatch.setattr(auto, "measure", fake_seconds)


def test_auto_picks_the_fastest_measured_forward_and_backward_separately(monkeypatch):
    log = []
    fast_forward = _FakeTimedAlgorithm("fast_forward", forward_seconds=1.0, backward_seconds=3.0, log=log)
    fast_backward = _FakeTimedAlgorithm("fast_backward", forward_seconds=2.0, backward_seconds=0.5, log=log)
    _only_fake_timed_algorithms(monkeypatch, fast_forward, fast_backward)
    mini, ref = run_both(conv_both("auto", padding=1), *conv_inputs((2, 3, 6, 5), (4, 3, 3, 3), np.float64))
    check(mini, ref, np.float64, "auto over fake-timed algorithms")

    timed_then_chosen = [("fast_forward", "forward"), ("fast_backward", "forward"), ("fast_forward", "forward"),
                         ("fast_forward", "backward"), ("fast_backward", "backward"), ("fast_backward", "backward")]
    assert log == timed_then_chosen
    choices = {key.direction: choice for key, choice in conv.auto_choices().items()}
    assert choices["forward"] == auto.AutoChoice("fast_forward", {"fast_forward": 1.0, "fast_backward": 2.0})
    assert choices["backward"] == auto.AutoChoice("fast_backward", {"fast_forward": 3.0, "fast_backward": 0.5})


class _SavingSpy(_FakeTimedAlgorithm):
    """A fake-timed im2col that keeps its column matrix from the forward, and logs what its
    backward was handed."""

    def forward_saving(self, x, w, geom):
        self.log.append((self.name, "forward_saving"))
        return im2col.forward_saving(x, w, geom)

    def backward(self, grad_y, x, w, geom, need_input, need_weight, saved=None):
        self.log.append((self.name, "backward", saved is not None))
        return im2col.backward(grad_y, x, w, geom, need_input, need_weight, saved=saved)


@pytest.mark.parametrize("backward_fastest", ["same", "other"])
def test_auto_hands_the_forwards_kept_columns_to_the_same_algorithms_backward(backward_fastest, monkeypatch):
    """In training, auto's forward keeps what the chosen algorithm keeps (im2col: the column
    matrix); its backward reuses it only when it chose that same algorithm."""
    log = []
    first = _SavingSpy("first", forward_seconds=1.0, backward_seconds=1.0, log=log)
    second = _SavingSpy("second", forward_seconds=2.0, backward_seconds=0.5 if backward_fastest == "other" else 2.0,
                        log=log)
    _only_fake_timed_algorithms(monkeypatch, first, second)
    mini, ref = run_both(conv_both("auto", padding=1), *conv_inputs((2, 3, 6, 5), (4, 3, 3, 3), np.float64))
    check(mini, ref, np.float64, "auto handing on the kept columns")
    chosen_forward, chosen_backward = log[2], log[-1]
    assert chosen_forward == ("first", "forward_saving")
    assert chosen_backward == (("first", "backward", True) if backward_fastest == "same" else ("second", "backward", False))


def test_auto_times_the_selected_backends_own_implementation(monkeypatch):
    log = []
    generic = _FakeTimedAlgorithm("generic", forward_seconds=1.0, backward_seconds=1.0, log=log)
    numpy_own = _FakeTimedAlgorithm("numpy_own", forward_seconds=1.0, backward_seconds=1.0, log=log)
    for name in conv.available_algorithms():
        if name != "auto":
            implementations.unregister("conv2d", name)
    conv.register_algorithm("only", generic)
    conv.register_algorithm("only", numpy_own, backend="numpy")

    def one_second(runs, array):
        for run in runs.values():
            run()
        return dict.fromkeys(runs, 1.0)

    monkeypatch.setattr(auto, "measure", one_second)
    x, w = minicnn.tensor(rand(1, 2, 5, 5)), minicnn.tensor(rand(3, 2, 3, 3))
    with use_backend("numpy"), minicnn.no_grad():
        F.conv2d(x, w, algorithm="auto")
    assert log == [("numpy_own", "forward"), ("numpy_own", "forward")]  # timed, then chosen
    ((key, choice),) = conv.auto_choices().items()
    assert key.backend == "numpy" and choice == auto.AutoChoice("only", {"only": 1.0})


def test_auto_keys_distinguish_problems_and_clear_empties_the_cache():
    w = minicnn.tensor(rand(4, 3, 3, 3))
    with minicnn.no_grad():
        F.conv2d(minicnn.tensor(rand(2, 3, 6, 6)), w, algorithm="auto")
        F.conv2d(minicnn.tensor(rand(2, 3, 6, 6)), w, algorithm="auto")  # same problem: no new key
        F.conv2d(minicnn.tensor(rand(3, 3, 6, 6)), w, algorithm="auto")  # another batch size
        F.conv2d(minicnn.tensor(rand(2, 3, 6, 6)), w, padding=1, algorithm="auto")  # another geometry
        F.conv2d(minicnn.tensor(rand(2, 3, 6, 6, dtype=np.float32)),
                 minicnn.tensor(rand(4, 3, 3, 3, dtype=np.float32)), algorithm="auto")  # another dtype
    choices = conv.auto_choices()
    assert len(choices) == 4 and all(key.direction == "forward" for key in choices)
    choices.clear()  # a copy: the cache itself is untouched
    assert len(conv.auto_choices()) == 4
    conv.clear_auto_cache()
    assert conv.auto_choices() == {}

