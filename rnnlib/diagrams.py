"""Figures of recurrent computation graphs, drawn by code.

The sources' figures were images; the book draws its own, in the sources' notation: the input
:math:`x_t`, the hidden state :math:`S_t`, the output :math:`O_t`, and the weights :math:`U`
(input to state), :math:`W` (state to state) and :math:`V` (state to output), shared by every
step of

.. math::

    S_t = f(U x_t + W S_{t-1} + b), \\qquad O_t = g(V S_t + c).

matplotlib is imported inside the functions, so importing rnnlib stays cheap.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["unrolled_rnn"]

_DIRECTIONS = ("forward", "backward", "bidirectional")
_INPUTS = ("all", "first")
_OUTPUTS = ("all", "last", "none")
_TIMES = ("relative", "absolute")
_MAX_STEPS = 12

_R = 0.42  # node radius, in data units
_DX = 2.2  # distance between time steps
_FOLDED_WIDTH = 5.2  # room for the folded cell, its loop and the "unfold" arrow
_ROWS = {"x": 0.0, "S": 1.7, "S'": 3.1, "O": 4.9, "L": 6.3}
_FILL = {"x": "#cfe3f7", "S": "#fde2b8", "O": "#d3ecd0", "L": "#f6cccc", "y": "#e6e6e6"}
_EDGE = "#333333"
_ARROW = "#555555"


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _node(ax: Any, xy: tuple[float, float], text: str, kind: str, dashed: bool = False) -> None:
    from matplotlib.patches import Circle

    ax.add_patch(
        Circle(xy, _R, facecolor=_FILL[kind], edgecolor=_EDGE, linewidth=1.2,
               linestyle="--" if dashed else "-", zorder=3)
    )
    ax.text(*xy, text, ha="center", va="center", fontsize=11, zorder=4, color="black")


def _edge_label(ax: Any, xy: tuple[float, float], text: str) -> None:
    ax.text(*xy, text, ha="center", va="center", fontsize=11, zorder=5, color="black",
            bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none",
                  "alpha": 0.9})


def _arrow(ax: Any, p: tuple[float, float], q: tuple[float, float], label: str | None = None,
           shrink_p: float = _R, shrink_q: float = _R, label_at: float = 0.5) -> None:
    """An arrow from node centre ``p`` to node centre ``q``, stopping at the node borders."""
    from matplotlib.patches import FancyArrowPatch

    dx, dy = q[0] - p[0], q[1] - p[1]
    n = math.hypot(dx, dy)
    ux, uy = dx / n, dy / n
    start = (p[0] + ux * shrink_p, p[1] + uy * shrink_p)
    end = (q[0] - ux * shrink_q, q[1] - uy * shrink_q)
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13, color=_ARROW,
                                 linewidth=1.4, shrinkA=0, shrinkB=0, zorder=2))
    if label:
        mx = start[0] + (end[0] - start[0]) * label_at
        my = start[1] + (end[1] - start[1]) * label_at
        _edge_label(ax, (mx, my), label)


def _loop(ax: Any, centre: tuple[float, float], label: str, side: float = 1.0) -> None:
    """A self-loop beside a folded state node (right: ``side=1``, left: ``-1``): ``W``."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    cx, cy = centre
    a = math.radians(40)
    start = (cx + side * _R * math.cos(a), cy + _R * math.sin(a))
    end = (cx + side * _R * math.cos(a), cy - _R * math.sin(a))
    reach = side * 1.3
    verts = [start, (cx + reach, cy + 0.8), (cx + reach, cy - 0.8), end]
    path = Path(verts, [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4])
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=13, color=_ARROW,
                                 linewidth=1.4, zorder=2))
    _edge_label(ax, (cx + side * 1.02, cy), label)


def _time_labels(steps: int, time: str) -> list[str]:
    if time == "absolute":
        return [str(i + 1) for i in range(steps)]
    labels = []
    for i in range(steps):
        k = i - (steps - 1) // 2
        labels.append("t" if k == 0 else f"t{k:+d}")
    return labels


def _column(ax: Any, cx: float, sub: str, *, state: str, prime: str, rows: dict[str, float],
            bidirectional: bool, has_input: bool, has_output: bool, loss: bool) -> None:
    """One time step: the nodes of one column and the arrows inside it."""
    sx = cx - 0.4 if bidirectional else cx
    s_xy = (sx, rows["S"])
    _node(ax, s_xy, f"${state}{prime}_{{{sub}}}$", "S")
    if bidirectional:
        b_xy = (cx + 0.4, rows["S'"])
        _node(ax, b_xy, f"${state}'_{{{sub}}}$", "S")
    if has_input:
        x_xy = (cx, rows["x"])
        _node(ax, x_xy, f"$x_{{{sub}}}$", "x")
        _arrow(ax, x_xy, s_xy, f"$U{prime}$", label_at=0.45)
        if bidirectional:
            _arrow(ax, x_xy, b_xy, "$U'$", label_at=0.3)
    if has_output:
        o_xy = (cx, rows["O"])
        _node(ax, o_xy, f"$O_{{{sub}}}$", "O")
        _arrow(ax, s_xy, o_xy, f"$V{prime}$", label_at=0.7 if bidirectional else 0.5)
        if bidirectional:
            _arrow(ax, b_xy, o_xy, "$V'$", label_at=0.5)
        if loss:
            l_xy = (cx, rows["L"])
            _node(ax, l_xy, f"$L_{{{sub}}}$", "L")
            _arrow(ax, o_xy, l_xy)
            y_xy = (cx + 0.95, rows["L"] - 0.7)
            _node(ax, y_xy, f"$y_{{{sub}}}$", "y")
            _arrow(ax, y_xy, l_xy)


def unrolled_rnn(
    steps: int = 3,
    ax: Any = None,
    *,
    folded: bool = True,
    losses: bool = False,
    direction: str = "forward",
    inputs: str = "all",
    outputs: str = "all",
    time: str = "relative",
    state: str = "S",
    title: str | None = None,
) -> Any:
    """Draw a recurrent network folded (one cell with its ``W`` loop) and unrolled over time.

    The unrolled graph has one column per time step: the input :math:`x_t` enters the state
    :math:`S_t` through :math:`U`, the state passes to the next step through :math:`W`, and the
    output :math:`O_t` is read from the state through :math:`V`, i.e.
    :math:`S_t = f(U x_t + W S_{t-1} + b)` and :math:`O_t = g(V S_t + c)`. The same three labels
    on every column are the picture of parameter sharing.

    Args:
        steps: number of time steps drawn (1 to 12).
        ax: a matplotlib Axes to draw into; a new figure is made when ``None``.
        folded: also draw the folded cell, with its self-loop ``W``, left of the unrolled graph.
        losses: add a loss :math:`L_t` above every output, fed by the target :math:`y_t`
            (the graph that backpropagation through time differentiates).
        direction: ``"forward"`` (states pass left to right), ``"backward"`` (right to left,
            primed symbols :math:`S'_t, U', W', V'`), or ``"bidirectional"`` (both rows, the
            output reads both states through :math:`V` and :math:`V'`).
        inputs: ``"all"`` (an input at every step) or ``"first"`` (one input, at the first
            step: one-to-many).
        outputs: ``"all"``, ``"last"`` (many-to-one) or ``"none"``.
        time: ``"relative"`` labels the steps ``t-1, t, t+1`` and draws the chain continuing
            on both sides; ``"absolute"`` labels them ``1 ... steps`` and starts from
            :math:`S_0`.
        state: the symbol of the hidden state, ``"S"`` as in the sources (``"h"`` for
            PyTorch's name).
        title: an optional title.

    Returns:
        The Axes drawn into.

    Raises:
        TypeError: if ``steps`` is not an integer.
        ValueError: if ``steps`` is out of range, an option is not one of its choices, or
            ``losses`` is requested without outputs.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ax = unrolled_rnn(steps=3)
        >>> sorted({t.get_text() for t in ax.texts} & {"$U$", "$W$", "$V$"})
        ['$U$', '$V$', '$W$']
    """
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an int, got {type(steps).__name__}")
    if not 1 <= steps <= _MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {_MAX_STEPS}, got {steps}")
    _check_choice("direction", direction, _DIRECTIONS)
    _check_choice("inputs", inputs, _INPUTS)
    _check_choice("outputs", outputs, _OUTPUTS)
    _check_choice("time", time, _TIMES)
    if not isinstance(state, str) or not state:
        raise ValueError(f"state must be a non-empty string, got {state!r}")
    if losses and outputs == "none":
        raise ValueError("losses=True needs outputs: set outputs to 'all' or 'last'")

    import matplotlib.pyplot as plt

    bidirectional = direction == "bidirectional"
    rows = dict(_ROWS)
    if not bidirectional:  # one state row: pull the outputs down
        rows["O"], rows["L"] = 2 * rows["S"], 2 * rows["S"] + 1.4
    prime = "'" if direction == "backward" else ""
    highest = "L" if losses else "O" if outputs != "none" else "S'" if bidirectional else "S"
    top = rows[highest] + 0.6
    left = (-2.0 if bidirectional else -0.9) if folded else -_DX
    right = (_FOLDED_WIDTH if folded else 0.0) + (steps - 1) * _DX + _DX
    if ax is None:
        scale = 0.7  # inches per data unit
        _, ax = plt.subplots(figsize=(min(scale * (right - left), 16), scale * (top + 0.6)))

    x0 = 0.0
    if folded:
        has_out = outputs != "none"
        _column(ax, x0, "t", state=state, prime=prime, rows=rows, bidirectional=bidirectional,
                has_input=True, has_output=has_out, loss=losses and has_out)
        if bidirectional:
            _loop(ax, (x0 - 0.4, rows["S"]), "$W$", side=-1.0)
            _loop(ax, (x0 + 0.4, rows["S'"]), "$W'$")
        else:
            _loop(ax, (x0, rows["S"]), f"$W{prime}$")
        ax.annotate("", xy=(x0 + 2.6, rows["S"]), xytext=(x0 + 1.6, rows["S"]),
                    arrowprops={"arrowstyle": "-|>", "color": _ARROW, "lw": 2.2})
        ax.text(x0 + 2.1, rows["S"] + 0.3, "unfold", ha="center", fontsize=10, color="black")
        x0 += _FOLDED_WIDTH

    subs = _time_labels(steps, time)
    centres = [x0 + i * _DX for i in range(steps)]
    for i, (cx, sub) in enumerate(zip(centres, subs, strict=True)):
        has_input = inputs == "all" or i == 0
        has_output = outputs == "all" or (outputs == "last" and i == steps - 1)
        _column(ax, cx, sub, state=state, prime=prime, rows=rows, bidirectional=bidirectional,
                has_input=has_input, has_output=has_output, loss=losses and has_output)

    def chain(y: float, dx_node: float, symbol: str, w: str, forward: bool) -> None:
        xs = [c + dx_node for c in centres]
        if not forward:
            xs = xs[::-1]
        for a, b in zip(xs, xs[1:], strict=False):
            _arrow(ax, (a, y), (b, y), w)
        step = _DX if forward else -_DX
        first, last = xs[0] - step * 0.75, xs[-1] + step * 0.75
        if time == "relative":
            ax.text(first - step * 0.12, y, r"$\cdots$", ha="center", va="center", fontsize=14)
            _arrow(ax, (first, y), (xs[0], y), w, shrink_p=0.1)
            _arrow(ax, (xs[-1], y), (last, y), w, shrink_q=0.0)
            ax.text(last + step * 0.12, y, r"$\cdots$", ha="center", va="center", fontsize=14)
        else:
            init = "0" if forward else str(steps + 1)
            ax.text(first - step * 0.1, y, f"${symbol}_{{{init}}}$", ha="center",
                    va="center", fontsize=12)
            _arrow(ax, (first, y), (xs[0], y), w, shrink_p=0.1)

    if bidirectional:
        chain(rows["S"], -0.4, state, "$W$", forward=True)
        chain(rows["S'"], 0.4, state + "'", "$W'$", forward=False)
    else:
        chain(rows["S"], 0.0, state + prime, f"$W{prime}$", forward=direction == "forward")

    ax.set_xlim(left, right)
    ax.set_ylim(-0.6, top)
    ax.set_aspect("equal")
    ax.axis("off")
    if title is not None:
        ax.set_title(title)
    return ax
