"""Numbers from code into the book's prose.

The book never types a measured number into its text: a notebook computes it, hands it to
:func:`glue`, and the markdown inserts it with myst-nb's role, e.g.
``{glue:text}`test_acc:.3f```. A key the text uses but no cell glued fails the book build
(it runs with warnings as errors).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch


def _plain(name: str, value: Any) -> Any:
    """A Python int, float, bool or str for ``value`` (NumPy and 0-d torch scalars unwrapped)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"glue({name!r}, ...) expected a number, got a tensor of shape {tuple(value.shape)}"
            )
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(
                f"glue({name!r}, ...) expected a number, got an array of shape {value.shape}"
            )
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, str)) or isinstance(value, numbers.Real):
        return value
    raise TypeError(
        f"glue({name!r}, ...) expected a number or a string, got {type(value).__name__}"
    )


def glue(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` for the prose, and return it unchanged.

    In a notebook executed by Jupyter Book (or any Jupyter kernel with myst-nb installed),
    this calls ``myst_nb.glue`` without displaying the value; the markdown then shows it
    with ``{glue:text}`name:.3f``` (any format spec Python's ``format`` takes). Outside a
    Jupyter kernel, or where myst-nb is not installed (a plain Python run, Colab, a GPU
    machine without Jupyter), it only checks and returns the value, so the notebook's code
    runs the same everywhere.

    NumPy scalars and one-element tensors are turned into plain Python numbers first: their
    text form (``np.float64(0.5)``) could not be formatted by the ``{glue:text}`` role.

    Args:
        name: the key the markdown uses; letters, digits, ``_`` and ``-``.
        value: a number (Python, NumPy or a one-element tensor) or a string.

    Returns:
        The value, as a plain Python number or string.

    Raises:
        ValueError: if the name is not a valid key, or the value has more than one element.
        TypeError: if the value is neither a number nor a string.

    Example:
        >>> glue("best_loss", np.float64(0.125))
        0.125
    """
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"expected a glue key of letters, digits, '_' and '-', got {name!r}")
    value = _plain(name, value)
    try:
        from IPython import get_ipython
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    if get_ipython() is not None:
        myst_glue(name, value, display=False)
    return value
