"""Figures the chapters share. matplotlib is imported inside each function, not at import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _losses(value: Any, name: str) -> Sequence[float]:
    losses = getattr(value, "valid_loss", None) or getattr(value, "train_loss", None)
    if losses is None:
        losses = value
    if isinstance(losses, str) or not isinstance(losses, Sequence) or not losses:
        raise TypeError(
            f"expected curve {name!r} to be a History or a non-empty sequence of losses, "
            f"got {type(value).__name__}"
        )
    return [float(v) for v in losses]


_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def loss_curves(
    curves: Mapping[str, Any],
    ax=None,
    *,
    logy: bool = True,
    baseline: float | None = None,
    baseline_label: str = "baseline",
    markers: bool | None = None,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    title: str | None = None,
):
    """Plot one loss curve per entry of ``curves`` on one set of axes.

    Args:
        curves: ``{label: History or list of floats}``. For a
            :class:`~rnnlib.train.History` the validation losses are drawn when there are any,
            else the training losses.
        ax: axes to draw on; a new figure is made when ``None``.
        logy: logarithmic y axis (losses span orders of magnitude).
        baseline: draw a dashed horizontal line at this value (e.g. the loss of a constant guess).
        baseline_label: legend entry of the baseline.
        markers: mark every point, with a different hollow marker per curve, so that curves
            lying on top of each other stay visible; ``None`` marks curves of at most 40 points.
        xlabel, ylabel, title: axis labels and title.

    Returns:
        The :class:`matplotlib.axes.Axes` drawn on.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> ax = loss_curves({"a": [1.0, 0.5, 0.2], "b": [1.0, 0.9, 0.8]}, baseline=0.9)
        >>> [line.get_label() for line in ax.get_lines()]
        ['a', 'b', 'baseline']
    """
    import matplotlib.pyplot as plt

    if not isinstance(curves, Mapping) or not curves:
        raise TypeError(
            f"expected a non-empty mapping {{label: losses}}, got {type(curves).__name__}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for i, (label, value) in enumerate(curves.items()):
        losses = _losses(value, label)
        style = {}
        if markers or (markers is None and len(losses) <= 40):
            style = {"marker": _MARKERS[i % len(_MARKERS)], "markersize": 5,
                     "markerfacecolor": "none"}
        ax.plot(range(1, len(losses) + 1), losses, label=label, **style)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", label=baseline_label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax
