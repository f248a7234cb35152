"""Small numeric grids for the explain tools: read from the command line, filled, printed.

A grid is written as rows separated by ``;`` and values by ``,``; several channels are
separated by ``|``::

    "1,2,3;4,5,6"            -> shape (2, 3)
    "1,0;0,1|2,2;2,2"        -> shape (2, 2, 2)   (two channels)
    "2x5x5"                  -> shape (2, 5, 5), filled with a deterministic integer pattern

Integer-valued entries print without a decimal point, so the worked examples read like the
ones in a textbook.
"""
from __future__ import annotations

import re
from typing import Sequence, Union

import numpy as np

_SHAPE = re.compile(r"^\s*\d+(\s*x\s*\d+)*\s*$")

# What a grid can be given as: an array (nested lists are fine), text as above, or None for
# the tool's default.
GridSpec = Union[np.ndarray, Sequence, str, None]

# Value ranges of filled grids: images 0..9 like pixel intensities, kernels -1..1.
IMAGE_VALUES = (0, 9)
KERNEL_VALUES = (-1, 1)


def integer_fill(shape: Sequence[int], low: int, high: int) -> np.ndarray:
    """float64 array of ``shape`` holding low, low+1, …, high, low, … in row-major order.

    Deterministic and easy to follow by eye, yet no two neighbours along a row are equal,
    so a misplaced index shows up in the printed numbers.
    """
    count = int(np.prod(shape))
    return (np.arange(count) % (high - low + 1) + low).astype(np.float64).reshape(tuple(shape))


def parse_grid(text: str, what: str) -> np.ndarray:
    """Values ("1,2;3,4", channels split by "|") -> float64 (rows, cols) or (channels, rows, cols).

    Shapes ("2x5x5") are read by :func:`parse_shape`. Raises ValueError naming ``what`` on
    malformed text.
    """
    channels = []
    for channel_text in text.split("|"):
        try:
            values = [[float(v) for v in row.split(",")] for row in channel_text.split(";")]
        except ValueError:
            raise ValueError(
                f"{what}: expected numbers like '1,2,3;4,5,6' (rows split by ';', channels by '|')"
                f" or a shape like '5x5', got {text!r}"
            ) from None
        widths = {len(row) for row in values}
        if len(widths) != 1:
            raise ValueError(f"{what}: every row needs the same number of values, got {text!r}")
        channels.append(np.array(values))
    if len({c.shape for c in channels}) != 1:
        raise ValueError(f"{what}: every channel needs the same rows and columns, got {text!r}")
    return channels[0] if len(channels) == 1 else np.stack(channels)


def parse_shape(text: str) -> tuple[int, ...] | None:
    """"2x5x5" -> (2, 5, 5); None when ``text`` is not a shape (then it holds values)."""
    if not _SHAPE.match(text):
        return None
    return tuple(int(part) for part in text.split("x"))


def read_grid_spec(spec: GridSpec, what: str) -> np.ndarray | tuple[int, ...]:
    """Values as a float64 array, or the shape (a tuple) that text like "2x5x5" asks to fill."""
    if isinstance(spec, str):
        shape = parse_shape(spec)
        return shape if shape is not None else parse_grid(spec, what)
    return np.asarray(spec, dtype=np.float64)


def format_number(value: float) -> str:
    """4.0 -> "4", 0.5 -> "0.5", -inf -> "-inf"; at most 4 significant digits otherwise."""
    value = float(value)
    if np.isfinite(value) and value == round(value):
        return str(int(round(value)))
    return f"{value:.4g}"


def _cells(grid: np.ndarray) -> list[list[str]]:
    return [[format_number(v) for v in row] for row in np.asarray(grid)]


def format_grid(grid: np.ndarray, indent: int = 0) -> list[str]:
    """A 2-D array as right-aligned columns, one string per row."""
    cells = _cells(grid)
    width = max((len(c) for row in cells for c in row), default=1)
    return [" " * indent + "  ".join(c.rjust(width) for c in row) for row in cells]


def side_by_side(blocks: Sequence[Sequence[str]], titles: Sequence[str], gap: int = 4) -> list[str]:
    """Lay text blocks out next to each other, each under its title, tops aligned."""
    widths = [max(len(line) for line in [title, *block]) for title, block in zip(titles, blocks)]
    height = max(len(block) for block in blocks)
    padded = [[title, *block] + [""] * (height - len(block)) for title, block in zip(titles, blocks)]
    separator = " " * gap
    return [
        separator.join(column[row].ljust(width) for column, width in zip(padded, widths)).rstrip()
        for row in range(height + 1)
    ]


def format_channels(array: np.ndarray, label: str = "channel", indent: int = 2) -> list[str]:
    """(C, H, W) -> each channel's grid under a "{label} {c}:" line."""
    lines = []
    for c, grid in enumerate(array):
        lines.append(" " * indent + f"{label} {c}:")
        lines += format_grid(grid, indent + 2)
    return lines


def format_labelled_grid(grid: np.ndarray, row_labels: Sequence[str],
                         column_labels: Sequence[str], indent: int = 0) -> list[str]:
    """A 2-D array with a header row of column labels and a label before each row."""
    cells = _cells(grid)
    width = max(len(c) for c in [*column_labels, *(c for row in cells for c in row)])
    label_width = max(len(label) for label in row_labels)
    lines = [" " * (indent + label_width) + "  " + "  ".join(c.rjust(width) for c in column_labels)]
    for label, row in zip(row_labels, cells):
        lines.append(" " * indent + label.ljust(label_width) + "  "
                     + "  ".join(c.rjust(width) for c in row))
    return lines


# Output positions along one axis: windows start every `stride`, span dilation*(kernel-1)+1
# positions of the (padded) input, and must fit inside it.
SIZE_FORMULA = "{rounding}(({size} + {pad} - {dilation}*({kernel} - 1) - 1) / {stride}) + 1"


def size_formula_lines(name: str, symbols: dict[str, str], numbers: dict[str, object],
                       result: int, rounding: str = "floor", indent: int = 0) -> list[str]:
    """The output-size formula with symbols, then with the numbers substituted and its value.

    ``symbols``/``numbers`` fill the fields size, pad, dilation, kernel and stride of
    :data:`SIZE_FORMULA`; ``result`` is shown as the formula's value.
    """
    prefix = " " * indent
    return [
        f"{prefix}{name} = " + SIZE_FORMULA.format(rounding=rounding, **symbols),
        f"{prefix}{' ' * len(name)} = " + SIZE_FORMULA.format(rounding=rounding, **numbers)
        + f" = {result}",
    ]


def product_terms(left: np.ndarray, right: np.ndarray) -> str:
    """"a*b + c*d + …" for two equal-size arrays; negative numbers in parentheses."""
    def operand(value: float) -> str:
        text = format_number(value)
        return f"({text})" if text.startswith("-") else text

    return " + ".join(f"{operand(a)}*{operand(b)}" for a, b in zip(np.ravel(left), np.ravel(right)))
