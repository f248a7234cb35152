"""Animated GIFs of a conv2d or pooling window sliding over a padded input.

    animate_conv   minicnn visualize conv-animation
    animate_pool   minicnn visualize pool-animation

Every frame shows the sizes and the output-size formula with the numbers. The title frame
shows the empty grids; then one frame per output position highlights the input cells its window reads (each labelled with
its kernel tap) and fills that output cell. Which cells those are is decided by
:mod:`.animation_frames`, from minicnn's own geometry; this module only draws. matplotlib
(``matplotlib.animation`` with its Pillow writer) and Pillow are optional dependencies.
"""
from __future__ import annotations

from pathlib import Path

from .animation_frames import (
    TITLE_FRAMES, IntOrPair, SlidingAnimation, Window, conv_animation, pool_animation,
)

FPS = 2            # frames per second: slow enough to follow one window to the next
CELL_INCHES = 0.42  # one grid cell on the figure
HEADER_INCHES = 1.5  # above the grids: title, the two formulas, the frame's own line
FOOTER_INCHES = 0.55  # below them: the two lines of the legend
DPI = 80
COLOURS = {"input": "#ffffff", "padding": "#d9d9d9", "overhang": "#f4f4f4",
           "window": "#f6a04d", "window-pad": "#fbd6ad", "output": "#9ecae1", "current": "#e6550d"}
_PADDING_VALUE = {"conv2d": "zeros", "max_pool2d": "-inf: never the max",
                  "avg_pool2d": "zeros, counted unless count_include_pad=False"}
_INSTALL = 'pip install "minicnn[train]"'


def _animation_modules():
    """(Figure, FuncAnimation, PillowWriter), or an ImportError naming the missing package."""
    # Pillow first: matplotlib itself needs it, so without Pillow that is the real problem.
    try:
        import PIL  # noqa: F401  (PillowWriter writes the GIF through Pillow)
    except ImportError:
        raise ImportError(f"the animations need Pillow to write GIFs: {_INSTALL} "
                          "(or pip install pillow)") from None
    try:
        from matplotlib.animation import FuncAnimation, PillowWriter
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"the animations need matplotlib: {_INSTALL} (or pip install matplotlib)") \
            from None
    return Figure, FuncAnimation, PillowWriter


def animate_conv(path: str | Path, input_size: IntOrPair, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair | str = 0, dilation: IntOrPair = 1,
                 groups: int = 1) -> Path:
    """Write the GIF of a conv2d's window sliding over the input (arguments as ``F.conv2d``'s;
    one input and one output channel per group); returns its path."""
    _animation_modules()  # first: a missing package is the first problem
    return write_gif(conv_animation(input_size, kernel_size, stride, padding, dilation, groups),
                     path)


def animate_pool(path: str | Path, input_size: IntOrPair, kernel_size: IntOrPair,
                 stride: IntOrPair | None = None, padding: IntOrPair = 0,
                 dilation: IntOrPair = 1, ceil_mode: bool = False, mode: str = "max") -> Path:
    """Write the GIF of a pooling window sliding over the input (arguments as
    ``F.max_pool2d``'s); returns its path."""
    _animation_modules()
    return write_gif(pool_animation(input_size, kernel_size, stride, padding, dilation,
                                    ceil_mode, mode), path)


class _Grid:
    """One channel's grid of cell rectangles and their text, on one axes."""

    def __init__(self, ax, size: tuple[int, int], label: str, kinds=None):
        from matplotlib.patches import Rectangle

        rows, cols = size
        self.kinds = kinds or (lambda cell: "input")
        self.cells, self.texts = {}, {}
        for r in range(rows):
            for c in range(cols):
                self.cells[r, c] = ax.add_patch(Rectangle((c, r), 1, 1, edgecolor="#555555",
                                                          linewidth=0.6))
                self.texts[r, c] = ax.text(c + 0.5, r + 0.5, "", ha="center", va="center",
                                           fontsize=6)
        ax.set_xlim(-0.1, cols + 0.1)
        ax.set_ylim(rows + 0.1, -0.1)   # row 0 at the top, as arrays print
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_title(label, fontsize=8)
        self.clear()

    def clear(self) -> None:
        for cell, patch in self.cells.items():
            patch.set_facecolor(COLOURS[self.kinds(cell)])
            self.texts[cell].set_text("")


def write_gif(animation: SlidingAnimation, path: str | Path) -> Path:
    """Draw ``animation.frame_count`` frames into an animated GIF at ``path``; returns it."""
    figure_class, func_animation, pillow_writer = _animation_modules()
    rows, cols = animation.grid_size
    oh, ow = animation.output_size
    channels = animation.channels
    width = max(channels * (cols + 1) * CELL_INCHES, 7.0)
    height = (rows + oh + 2) * CELL_INCHES + HEADER_INCHES + FOOTER_INCHES
    figure = figure_class(figsize=(width, height), dpi=DPI)
    axes = figure.subplots(2, channels, squeeze=False,
                           gridspec_kw={"height_ratios": [rows, max(oh, 1)]})
    inputs = [_Grid(axes[0, g], animation.grid_size, _input_label(animation, g),
                    animation.cell_kind) for g in range(channels)]
    outputs = [_Grid(axes[1, g], animation.output_size, _output_label(animation, g))
               for g in range(channels)]
    # Fixed room in inches above the grids (title, formulas, the frame's line) and below
    # (the legend), so that text never overlaps a grid, however small the figure.
    figure.text(0.5, 1 - 0.08 / height, "\n".join((animation.title, *animation.formulas)),
                ha="center", va="top", fontsize=9)
    status = figure.text(0.5, 1 - 0.75 / height, "", ha="center", va="top", fontsize=8,
                         family="monospace")
    figure.text(0.5, 0.08 / height, _legend(animation), ha="center", va="bottom", fontsize=7)
    figure.subplots_adjust(left=0.02, right=0.98, top=1 - HEADER_INCHES / height,
                           bottom=FOOTER_INCHES / height, hspace=0.35)

    def draw(frame: int):
        for grid in inputs + outputs:
            grid.clear()
        if frame < TITLE_FRAMES:
            status.set_text(f"the window visits the {oh}x{ow} output positions row by row")
        else:
            index = frame - TITLE_FRAMES
            _draw_window(animation, animation.windows[index], index, inputs, outputs, status)
        return []

    movie = func_animation(figure, draw, frames=animation.frame_count, blit=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    movie.save(path, writer=pillow_writer(fps=FPS), dpi=DPI)
    return path


def _draw_window(animation: SlidingAnimation, window: Window, index: int, inputs, outputs,
                 status) -> None:
    """Frame of window ``index``: its taps on every input channel, the outputs so far."""
    for grid in inputs:
        for tap in window.taps:
            grid.cells[tap.padded].set_facecolor(COLOURS["window" if tap.input is not None else "window-pad"])
            grid.texts[tap.padded].set_text(f"w{tap.kernel[0]}{tap.kernel[1]}")
    for grid in outputs:
        for done in animation.windows[:index]:
            grid.cells[done.output].set_facecolor(COLOURS["output"])
        grid.cells[window.output].set_facecolor(COLOURS["current"])
        grid.texts[window.output].set_text(f"{window.output[0]},{window.output[1]}")
    p, q = window.output
    read = ", ".join(f"({r},{c})" for r, c in sorted(window.input_cells)) or "padding only"
    status.set_text(f"output ({p},{q}) reads input cells {_wrap(read)}")


def _wrap(text: str, width: int = 90) -> str:
    """Break a long list of cells into lines at its commas."""
    lines, line = [], ""
    for part in text.split(", "):
        if line and len(line) + len(part) + 2 > width:
            lines.append(line + ",")
            line = part
        else:
            line = f"{line}, {part}" if line else part
    return "\n".join(lines + [line])


def _input_label(animation: SlidingAnimation, channel: int) -> str:
    h, w = animation.input_size
    rows, cols = animation.grid_size
    name = "input" if animation.channels == 1 else f"input channel {channel} (group {channel})"
    return f"{name}: {h}x{w}" + ("" if (rows, cols) == (h, w) else f", drawn {rows}x{cols}")


def _output_label(animation: SlidingAnimation, channel: int) -> str:
    oh, ow = animation.output_size
    name = "output" if animation.channels == 1 else f"output channel {channel} (group {channel})"
    return f"{name}: {oh}x{ow}"


def _legend(animation: SlidingAnimation) -> str:
    parts = ["white: input", f"grey: padding ({_PADDING_VALUE[animation.op]})"]
    if any(animation.cell_kind((r, c)) == "overhang" for r in range(animation.grid_size[0])
           for c in range(animation.grid_size[1])):
        parts.append("light grey: past the padding (ceil mode's last window)")
    window = "orange: the window (pale on padding), wAB = kernel tap (A, B)   red: the output it makes"
    return "   ".join(parts) + "\n" + window
