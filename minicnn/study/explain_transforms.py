"""The transforms of conv2d's ``winograd`` and ``fft`` algorithms on one small example, with numbers.

Both algorithms compute the correlation that ``direct`` computes, by a detour: Winograd's
F(2x2, 3x3) through 4x4 input tiles and 3x3 kernels transformed by small fixed matrices, FFT
through the spectra of the padded input and the kernel. The explanation takes the transform
matrices and helpers from the algorithms' own modules (``minicnn/functional/conv/winograd.py``
and ``fft.py``), so the numbers printed are the ones the code computes, and it ends with the
whole output's largest difference from the direct algorithm's.

Both are shown for filter 0 (the other filters work alike) and the input channels of its group.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import ConvGeometry, tap_slice
# The Winograd matrices themselves: never re-typed here, so text and code cannot drift apart.
from ..functional.conv.winograd import A_T, B_T, G, KERNEL, OUT_TILE, TILE
# The FFT algorithm's own helpers, so the spectra shown are the ones it multiplies (their names
# are private there today).
from ..functional.conv.fft import dilated_kernel, signal, spectrum
from .grids import format_grid, format_number, side_by_side


@dataclass(frozen=True)
class WinogradTile:
    """F(2x2, 3x3) on output tile (0, 0) of filter 0, i.e. y[0, 0:2, 0:2].

    channels  the input channels of filter 0's group (Cg of them)
    d         (Cg, 4, 4) the input tile: padded rows 0-3, columns 0-3 (zeros past the edge)
    v         (Cg, 4, 4) B^T d B, per channel
    g         (Cg, 3, 3) filter 0's kernel slices
    u         (Cg, 4, 4) G g G^T, per channel
    products  (Cg, 4, 4) u * v elementwise
    m         (4, 4) the products summed over the channels
    y         (2, 2) A^T m A: the output tile
    tiles     (TH, TW): 2x2 output tiles covering (OH, OW), a partial last one counting as one
    max_error max |y_engine - y_direct| over the whole output (C_out, OH, OW)
    """

    channels: tuple[int, ...]
    d: np.ndarray
    v: np.ndarray
    g: np.ndarray
    u: np.ndarray
    products: np.ndarray
    m: np.ndarray
    y: np.ndarray
    tiles: tuple[int, int]
    max_error: float


@dataclass(frozen=True)
class FFTSpectra:
    """The convolution theorem for filter 0 of one conv2d.

    channels   the input channels of filter 0's group (Cg of them)
    size       (Hp, Wp): the padded input's size, which is also the FFT size
    kernel     (Cg, KHd, KWd): filter 0's kernel slices, dilated (zeros between the taps)
    x_spectra  (Cg, Fh, Fw): rfft2 of each padded input channel, Fh = Hp, Fw = Wp // 2 + 1
    w_spectra  (Cg, Fh, Fw): rfft2 of each kernel slice zero-padded to ``size``
    products   (Cg, Fh, Fw): conj(W) * X, per channel
    y_spectrum (Fh, Fw): the products summed over the channels
    circular   (Hp, Wp): irfft2(y_spectrum), the circular correlation
    valid      (Hp - KHd + 1, Wp - KWd + 1): its part without wrap-around
    output     (OH, OW): every SH-th row and SW-th column of ``valid``, i.e. y[0]
    max_error  max |y_engine - y_direct| over the whole output (C_out, OH, OW)
    """

    channels: tuple[int, ...]
    size: tuple[int, int]
    kernel: np.ndarray
    x_spectra: np.ndarray
    w_spectra: np.ndarray
    products: np.ndarray
    y_spectrum: np.ndarray
    circular: np.ndarray
    valid: np.ndarray
    output: np.ndarray
    max_error: float


def _filter0_channels(weight: np.ndarray) -> tuple[int, ...]:
    """Filter 0 belongs to group 0, whose input channels are 0 .. C/groups - 1."""
    return tuple(range(weight.shape[1]))


def winograd_tile(padded: np.ndarray, weight: np.ndarray, geometry: ConvGeometry,
                  output: np.ndarray, direct: np.ndarray) -> WinogradTile:
    """Tile (0, 0) of filter 0 by F(2x2, 3x3); see :class:`WinogradTile`.

    padded (C, Hp, Wp), weight (C_out, C/groups, 3, 3); output and direct (C_out, OH, OW) are the
    winograd algorithm's result and the direct one's, for the error.
    """
    channels = _filter0_channels(weight)
    # The 4x4 tile reaches 2 rows/columns past a 2x2 output tile; when the output is 1 wide it
    # reaches past the padded input, where the algorithm reads zeros too.
    d = np.zeros((len(channels), TILE, TILE), dtype=padded.dtype)
    part = padded[list(channels), :TILE, :TILE]
    d[:, : part.shape[1], : part.shape[2]] = part
    b_t, g_matrix, a_t = (np.asarray(m, dtype=padded.dtype) for m in (B_T, G, A_T))
    v = b_t @ d @ b_t.T
    g = weight[0]
    u = g_matrix @ g @ g_matrix.T
    products = u * v
    m = products.sum(axis=0)
    y = a_t @ m @ a_t.T
    tiles = tuple(-(-size // OUT_TILE) for size in geometry.output_size)
    return WinogradTile(channels=channels, d=d, v=v, g=g, u=u, products=products, m=m, y=y,
                        tiles=tiles, max_error=float(np.abs(output - direct).max()))


def fft_spectra(padded: np.ndarray, weight: np.ndarray, geometry: ConvGeometry,
                output: np.ndarray, direct: np.ndarray) -> FFTSpectra:
    """Filter 0 by the correlation theorem, with the fft algorithm's helpers; see :class:`FFTSpectra`.

    padded (C, Hp, Wp), weight (C_out, C/groups, KH, KW); output and direct (C_out, OH, OW) are
    the fft algorithm's result and the direct one's, for the error.
    """
    channels = _filter0_channels(weight)
    size = geometry.padded_size
    kernel = dilated_kernel(weight, geometry.dilation)[0]           # (Cg, KHd, KWd)
    # _spectrum transforms the last two axes and puts the frequencies first; one 2-D channel at
    # a time keeps the (Fh, Fw) grids in reading order.
    x_spectra = np.stack([spectrum(padded[c], size) for c in channels])
    w_spectra = np.stack([spectrum(k, size) for k in kernel])
    products = w_spectra.conj() * x_spectra
    y_spectrum = products.sum(axis=0)
    circular = signal(y_spectrum, size, *size, padded.dtype)
    kdh, kdw = kernel.shape[1:]
    valid = circular[: size[0] - kdh + 1, : size[1] - kdw + 1]
    _, _, rows, cols = tap_slice(geometry, 0, 0)  # where the strided windows start, as fft.py keeps
    return FFTSpectra(
        channels=channels, size=size, kernel=kernel, x_spectra=x_spectra, w_spectra=w_spectra,
        products=products, y_spectrum=y_spectrum, circular=circular, valid=valid,
        output=valid[rows, cols],
        max_error=float(np.abs(output - direct).max()),
    )


# ----------------------------------------------------------------------------- rendering
def _shown(array: np.ndarray) -> np.ndarray:
    """``array`` with rounding noise (|v| within a few ulps of the array's scale) set to 0.

    The FFT of small integers is integers plus ~1e-16 (float64) or ~1e-7 (float32) noise;
    printing "4.441e-16" where the arithmetic means 0 would hide the numbers that matter.
    """
    real_dtype = np.finfo(array.dtype).dtype
    scale = max(1.0, float(np.abs(array).max(initial=0.0)))
    noise = 64 * np.finfo(real_dtype).eps * scale
    if np.iscomplexobj(array):
        return _shown(array.real) + 1j * _shown(array.imag)
    return np.where(np.abs(array) < noise, 0.0, array)


def format_complex(value: complex) -> str:
    """3+0j -> "3", -2.5+3.441j -> "-2.5+3.441j", 0-1j -> "-1j"."""
    real, imag = format_number(value.real), format_number(abs(value.imag))
    if value.imag == 0:
        return real
    sign = "-" if value.imag < 0 else "+"
    if value.real == 0:
        return f"{'-' if sign == '-' else ''}{imag}j"
    return f"{real}{sign}{imag}j"


def _complex_grid(grid: np.ndarray) -> list[str]:
    cells = [[format_complex(v) for v in row] for row in _shown(grid)]
    width = max(len(c) for row in cells for c in row)
    return ["  ".join(c.rjust(width) for c in row) for row in cells]


def _indented(lines: list[str], indent: int) -> list[str]:
    return [" " * indent + line for line in lines]


def _per_channel(tile_channels: tuple[int, ...], blocks: list[tuple[str, np.ndarray]],
                 indent: int = 6, grid=format_grid) -> list[str]:
    """For each channel c: the named arrays' slice c side by side under "name, channel c"."""
    lines = []
    for k, c in enumerate(tile_channels):
        titles = [title.format(c=c) for title, _ in blocks]
        lines += _indented(side_by_side([grid(array[k]) for _, array in blocks], titles), indent)
    return lines


def _error_line(max_error: float, algorithm: str) -> list[str]:
    return [f"   e. Error: max |y - y_direct| over the whole output = {max_error:.3g}",
            f"      (y: step 6, by {algorithm!r}; y_direct: F.conv2d(..., algorithm='direct'))"]


def _channel_sum(channels: tuple[int, ...], title: str, products: np.ndarray, total: str,
                 grid=format_grid) -> list[str]:
    """The per-channel products and their sum; with one channel, the sum is the product."""
    if len(channels) == 1:
        return [f"      {total} = {title.format(c=channels[0])} (one channel):",
                *_indented(grid(products[0]), 6)]
    return [*_per_channel(channels, [(title, products)], grid=grid),
            f"      {total} = the sum over the channels:"]


def render_winograd(tile: WinogradTile, geometry: ConvGeometry, number: int) -> list[str]:
    """Step ``number`` of the explanation: F(2x2, 3x3) on one tile, from :func:`winograd_tile`."""
    (oh, ow), (th, tw) = geometry.output_size, tile.tiles
    n, k, t = OUT_TILE, KERNEL, TILE
    sum_lines = _channel_sum(tile.channels, "U * V, channel {c}", tile.products, "M")
    return [
        f"{number}. Winograd F({n}x{n}, {k}x{k}) (minicnn/functional/conv/winograd.py): each "
        f"{n}x{n} output tile Y",
        f"   comes from a {t}x{t} input tile d as Y = A^T [(G g G^T) * (B^T d B)] A, where * is "
        "elementwise:",
        f"   {t * t} multiplications per channel for {n * n} outputs, where the definition needs "
        f"{n * n}*{k * k} = {n * n * k * k}.",
        f"   The {oh} x {ow} output takes ceil({oh}/{n}) x ceil({ow}/{n}) = {th} x {tw} tiles; tile "
        f"(s, t) reads the padded",
        f"   input from row {n}s, column {n}t (neighbours overlap by {t - n}); a partial last tile is "
        "computed from",
        "   zeros and cropped. The algorithm's matrices (Lagrange interpolation at 0, 1, -1 and "
        "infinity):",
        *_indented(side_by_side([format_grid(B_T), format_grid(G), format_grid(A_T)],
                                ["B^T", "G", "A^T"]), 6),
        f"   Tile (0, 0) of filter 0, i.e. y[0, 0:{n}, 0:{n}]:",
        f"   a. Input transform V = B^T d B, d = padded rows 0-{t - 1}, columns 0-{t - 1} "
        "(B^T holds 0, 1 and -1:",
        "      additions only):",
        *_per_channel(tile.channels, [("d, channel {c}", tile.d), ("V = B^T d B", tile.v)]),
        "   b. Kernel transform U = G g G^T (once per kernel, not per tile):",
        *_per_channel(tile.channels, [("g = w[0, {c}]", tile.g), ("U = G g G^T", tile.u)]),
        "   c. Elementwise product U * V, then the sum over the channels M:",
        *sum_lines,
        *(format_grid(tile.m, indent=6) if len(tile.channels) > 1 else []),
        f"   d. Output transform Y = A^T M A: the output tile y[0, 0:{n}, 0:{n}] =",
        *format_grid(tile.y, indent=6),
        *_error_line(tile.max_error, "winograd"),
    ]


def render_fft(spectra: FFTSpectra, geometry: ConvGeometry, number: int) -> list[str]:
    """Step ``number`` of the explanation: the convolution theorem, from :func:`fft_spectra`."""
    hp, wp = spectra.size
    kdh, kdw = spectra.kernel.shape[1:]
    fh, fw = spectra.y_spectrum.shape
    vh, vw = spectra.valid.shape
    sh, sw = geometry.stride
    dilated = " (dilated: zeros between its taps)" if geometry.dilation != (1, 1) else ""
    shown_w, shown_x = _shown(spectra.w_spectra), _shown(spectra.x_spectra)
    dc_terms = " + ".join(f"{format_complex(np.conj(w[0, 0]))}*{format_complex(x[0, 0])}"
                          for w, x in zip(shown_w, shown_x))
    dc = format_complex(_shown(spectra.y_spectrum)[0, 0])
    return [
        f"{number}. FFT (minicnn/functional/conv/fft.py): correlating is multiplying spectra, "
        "y = irfft2(conj(W) * X).",
        f"   a. Sizes: the FFT size is the padded input's, (Hp, Wp) = ({hp}, {wp}). The textbook "
        "pads to Hp + KHd - 1",
        "      against wrap-around, but the wrap-around reaches only outputs past Hp - KHd, "
        "which the valid crop",
        f"      drops anyway. The kernel{dilated}, KHd x KWd = {kdh} x {kdw}, is zero-padded to "
        f"{hp} x {wp}.",
        f"   b. Spectra: rfft2 keeps Fh x Fw = Hp x (Wp // 2 + 1) = {fh} x {fw} frequencies (a real "
        "signal's spectrum",
        "      is conjugate-symmetric). The algorithm stores X as (Fh, Fw, G, C/G, N) = "
        f"({fh}, {fw}, {geometry.groups}, {len(spectra.channels)}, 1)",
        "      and W as (Fh, Fw, G, C_out/G, C/G): one complex GEMM per frequency sums over the "
        "channels.",
        "      Filter 0:",
        *_per_channel(spectra.channels, [("X = rfft2(xpad[{c}])", spectra.x_spectra),
                                         ("W = rfft2(w[0, {c}])", spectra.w_spectra)],
                      grid=_complex_grid),
        "   c. Product: Y = the sum over the channels of conj(W) * X at every frequency (conj: "
        "a correlation, not",
        "      a convolution). At frequency (0, 0), X is the sum of the padded channel and W the "
        "kernel's sum:",
        f"      Y[0, 0] = {dc_terms} = {dc}",
        *_channel_sum(spectra.channels, "conj(W) * X, channel {c}", spectra.products, "Y",
                      grid=_complex_grid),
        *(_indented(_complex_grid(spectra.y_spectrum), 6) if len(spectra.channels) > 1 else []),
        f"   d. Inverse: irfft2(Y, s=({hp}, {wp})) is the circular correlation; its first "
        f"Hp - KHd + 1 = {vh} rows",
        f"      and Wp - KWd + 1 = {vw} columns are the valid correlation (the rest wrapped "
        "around):",
        *format_grid(_shown(spectra.circular), indent=6),
        f"      Cropped to {vh} x {vw}, every SH-th row and SW-th column (stride ({sh}, {sw})): "
        "y[0] =",
        *format_grid(_shown(spectra.output), indent=6),
        *_error_line(spectra.max_error, "fft"),
    ]
