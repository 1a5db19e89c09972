"""How far back a gradient reaches: the norm of dS_T/dS_t against the lag T - t.

Backpropagation through time carries the gradient of a loss at step T back to an earlier step t
through one Jacobian per step (chapter 04). For the vanilla RNN S_k = f(U x_k + W S_{k-1} + b)
with pre-activation a_k = U x_k + W S_{k-1} + b,

    dS_T/dS_t = prod_{k=t+1}^{T} dS_k/dS_{k-1} = prod_{k=t+1}^{T} diag(f'(a_k)) W,

and whether that product shrinks or grows with T - t decides whether a recurrent network can
learn long-range dependencies. This module measures it, with autograd, for any layer that has
torch.nn's recurrent interface (``torch.nn.RNN``/``LSTM``/``GRU``, their rnnlib twins, or a
small module of your own that takes ``(input, hx)`` and returns ``(output, h_n)``): the layer is
run one step at a time, so each state S_t is a node of the graph. Row i of every Jacobian
dS_T/dS_t comes from the gradient of unit i of S_T; to get all rows in one backward pass, each
sequence is repeated once per unit and each copy is seeded with its own unit (the layer treats
the rows of a batch independently, so the copies do not interact).

The state S_t is what the layer carries from one step to the next: h_t for RNN and GRU layers
(all layers stacked, so ``num_layers * hidden_size`` numbers per sequence) and the pair
(h_t, c_t) for an LSTM, unless ``state="h"`` or ``state="c"`` picks one half (the other half
is then held fixed, so the result is that block of the full Jacobian).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:  # matplotlib is imported lazily, only when a plot is drawn
    from matplotlib.axes import Axes

__all__ = ["plot_jacobian_norms", "state_jacobian_norms", "state_jacobians"]

_STATES = ("all", "h", "c")
_NORMS = ("fro", "spectral")
_MAX_ROWS = 4096  # largest repeated batch per backward pass (see _jacobian_blocks)


def _check_inputs(layer: torch.nn.Module, x: torch.Tensor, state: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(
            "expected a batch of sequences x of shape (L, N, H_in), or (N, L, H_in) for a "
            f"batch_first layer, got shape {tuple(x.shape)}"
        )
    if not callable(layer):
        raise TypeError(f"expected a recurrent layer (a module), got {type(layer).__name__}")
    if getattr(layer, "bidirectional", False):
        raise ValueError(
            "expected a unidirectional layer: a bidirectional layer's backward direction "
            "cannot be run one step at a time"
        )
    if state not in _STATES:
        raise ValueError(f"expected state to be one of {_STATES}, got {state!r}")


def _initial_state(
    layer: torch.nn.Module, x: torch.Tensor, h0: Any, batch: int, time_dim: int
) -> Any:
    """A leaf tensor (or (h, c) pair of leaves) that requires grad, so every S_t is in the graph."""
    if h0 is None:  # learn the structure of hx (a tensor, or a pair for an LSTM) from one step
        with torch.no_grad():
            _, probe = layer(x.narrow(time_dim, 0, 1), None)
        zeros = torch.zeros_like
        h0 = tuple(map(zeros, probe)) if isinstance(probe, tuple) else zeros(probe)
    parts = h0 if isinstance(h0, (tuple, list)) else (h0,)
    for part in parts:
        if not isinstance(part, torch.Tensor) or part.dim() != 3 or part.shape[1] != batch:
            got = tuple(part.shape) if isinstance(part, torch.Tensor) else type(part).__name__
            raise ValueError(
                f"expected h0 of shape (num_layers, N={batch}, H_out) (a pair of them for an "
                f"LSTM), got {got}"
            )
    leaves = tuple(p.detach().clone().requires_grad_() for p in parts)
    return leaves if isinstance(h0, (tuple, list)) else leaves[0]


def _flat(part: torch.Tensor) -> torch.Tensor:
    return part.transpose(0, 1).reshape(part.shape[1], -1)  # (layers, N, H) -> (N, layers*H)


def _unflat(s: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return s.reshape(like.shape[1], like.shape[0], like.shape[2]).transpose(0, 1)  # (layers, N, H)


def _split(hx: Any, state: str) -> tuple[torch.Tensor, Any]:
    """The measured state S_t, flattened to (N, S), and the rest of hx (held fixed)."""
    if not isinstance(hx, tuple):
        if state == "c":
            raise ValueError("state='c' needs an LSTM (hx a pair (h, c)); this layer has h only")
        return _flat(hx), None
    h, c = hx
    if state == "h":
        return _flat(h), c
    if state == "c":
        return _flat(c), h
    return torch.cat([_flat(h), _flat(c)], dim=-1), None


def _join(s: torch.Tensor, rest: Any, like: Any, state: str) -> Any:
    """Inverse of :func:`_split`: the next step's hx, built from S_t (so S_t is on the path)."""
    if not isinstance(like, tuple):
        return _unflat(s, like)
    h, c = like
    if state == "h":
        return (_unflat(s, h), rest)
    if state == "c":
        return (rest, _unflat(s, c))
    width = h.shape[0] * h.shape[2]
    return (_unflat(s[:, :width], h), _unflat(s[:, width:], c))


def _repeat(hx: Any, times: int) -> Any:
    """Repeat every sequence of a state `times` times along the batch dimension (dim 1)."""
    if isinstance(hx, tuple):
        return tuple(p.repeat_interleave(times, dim=1) for p in hx)
    return hx.repeat_interleave(times, dim=1)


def _jacobian_blocks(
    layer: torch.nn.Module, x: torch.Tensor, h0: Any, state: str, max_rows: int | None = None
):
    """Yield (units, rows), rows (L, N, len(units), S): those rows of dS_L/dS_{L-k}, k = 0..L-1.

    Each sequence is repeated once per unit i of a block of units, and the copy for unit i is
    seeded with the gradient e_i at S_L: one backward pass then gives, for every copy, row i of
    all L Jacobians of its sequence. Blocks keep the repeated batch within ``max_rows`` rows
    (default ``_MAX_ROWS``).
    """
    _check_inputs(layer, x, state)
    time_dim = 1 if getattr(layer, "batch_first", False) else 0
    batch_dim = 1 - time_dim
    batch, length = x.shape[batch_dim], x.shape[time_dim]
    with torch.enable_grad():
        hx0 = _initial_state(layer, x, h0, batch, time_dim)
        width = _split(hx0, state)[0].shape[1]  # S, the size of the measured state
        block = max(1, min(width, (max_rows or _MAX_ROWS) // batch))
        for start in range(0, width, block):
            units = torch.arange(start, min(start + block, width), device=x.device)
            copies = len(units)
            hx = _repeat(hx0, copies)  # copy j of sequence n is row n * copies + j
            states = []  # S_1 .. S_L, each (N * copies, S)
            for x_t in x.repeat_interleave(copies, dim=batch_dim).unbind(time_dim):
                _, hx = layer(x_t.unsqueeze(time_dim), hx)
                s, rest = _split(hx, state)
                states.append(s)
                hx = _join(s, rest, hx, state)
            seed = torch.zeros(batch, copies, width, dtype=states[-1].dtype, device=x.device)
            seed[:, torch.arange(copies, device=x.device), units] = 1.0  # e_i for copy i
            grads = torch.autograd.grad(
                states[-1],
                states,
                grad_outputs=seed.reshape(batch * copies, width),
                allow_unused=True,
            )
            pairs = zip(grads, states, strict=True)
            rows = [torch.zeros_like(s) if g is None else g for g, s in pairs]
            rows = torch.stack(rows[::-1])  # (L, N * copies, S), index k = lag L - t
            yield units, rows.reshape(length, batch, copies, width).detach()


def state_jacobians(
    layer: torch.nn.Module, x: torch.Tensor, h0: Any = None, *, state: str = "all"
) -> torch.Tensor:
    """Every Jacobian dS_L/dS_t of a recurrent layer on a batch of sequences, by autograd.

    For the vanilla RNN each one is the product dS_L/dS_t = prod_{k=t+1}^{L} diag(f'(a_k)) W.
    The layer is run one step at a time from ``h0`` (zeros by default), on S copies of each
    sequence; one backward pass, seeded with unit i of S_L in copy i, fills row i of all L
    Jacobians. The layer must treat the sequences of a batch independently (switch dropout off
    with ``layer.eval()``).

    Args:
        layer: a unidirectional recurrent layer with torch.nn's interface,
            ``layer(input, hx) -> (output, h_n)`` (``(output, (h_n, c_n))`` for an LSTM).
        x: a batch of input sequences in the layer's layout.
        h0: initial state as the layer takes it, or None for zeros.
        state: ``"all"`` (h, or (h, c) for an LSTM), ``"h"`` or ``"c"`` (LSTM only).

    Shape:
        - x: (L, N, H_in), or (N, L, H_in) when ``layer.batch_first``.
        - output: (N, L, S, S) with S = num_layers * H_out (twice that for an LSTM with
          ``state="all"``); ``[n, k]`` is dS_L/dS_{L-k} of sequence n, lag k = 0 .. L-1,
          so ``[:, 0]`` is the identity.

    Returns:
        The Jacobians, detached, on x's device and in its dtype.

    Example:
        >>> layer = torch.nn.RNN(1, 2)
        >>> J = state_jacobians(layer, torch.randn(5, 3, 1))
        >>> J.shape
        torch.Size([3, 5, 2, 2])
        >>> torch.equal(J[:, 0], torch.eye(2).expand(3, 2, 2))
        True
    """
    blocks = [rows for _, rows in _jacobian_blocks(layer, x, h0, state)]  # (L, N, units, S)
    return torch.cat(blocks, dim=2).transpose(0, 1)  # (N, L, S, S)


def state_jacobian_norms(
    layer: torch.nn.Module,
    x: torch.Tensor,
    h0: Any = None,
    *,
    norm: str = "fro",
    state: str = "all",
) -> torch.Tensor:
    """Mean over a batch of ||dS_L/dS_{L-k}|| for every lag k = 0 .. L-1.

    The Frobenius norm ||J||_F = sqrt(sum_ij J_ij^2) (the default) is accumulated block by
    block of rows, without storing the Jacobians; it bounds the spectral norm: ||J||_2 <= ||J||_F <=
    sqrt(S) ||J||_2. The spectral norm ``norm="spectral"`` (largest singular value, the most a
    gradient can be stretched) needs the full Jacobians. At lag 0 the Jacobian is the identity,
    so the first entry is sqrt(S) (Frobenius) or 1 (spectral).

    Args:
        layer: a unidirectional recurrent layer with torch.nn's interface (see
            :func:`state_jacobians`).
        x: a batch of input sequences in the layer's layout.
        h0: initial state as the layer takes it, or None for zeros.
        norm: ``"fro"`` or ``"spectral"``.
        state: ``"all"``, ``"h"`` or ``"c"`` (LSTM only), as in :func:`state_jacobians`.

    Shape:
        - x: (L, N, H_in), or (N, L, H_in) when ``layer.batch_first``.
        - output: (L,); entry k is the mean over the batch of ||dS_L/dS_{L-k}||.

    Returns:
        The mean norms, detached, on x's device.

    Example:
        >>> layer = torch.nn.RNN(1, 4, nonlinearity="relu", bias=False)
        >>> with torch.no_grad():
        ...     _ = layer.weight_hh_l0.copy_(0.5 * torch.eye(4))
        >>> x = torch.ones(3, 2, 1)  # U x_t > 0 for some units keeps them in ReLU's linear part
        >>> state_jacobian_norms(layer, x, norm="spectral")[0].item()
        1.0
    """
    if norm not in _NORMS:
        raise ValueError(f"expected norm to be one of {_NORMS}, got {norm!r}")
    if norm == "spectral":
        jacobians = state_jacobians(layer, x, h0, state=state)  # (N, L, S, S)
        return torch.linalg.matrix_norm(jacobians, ord=2).mean(dim=0)
    squares = None
    for _, rows in _jacobian_blocks(layer, x, h0, state):
        block_sq = rows.pow(2).sum(dim=(-2, -1))  # (L, N): these rows' share of ||J||_F^2
        squares = block_sq if squares is None else squares + block_sq
    return squares.sqrt().mean(dim=1)


def plot_jacobian_norms(
    results: Mapping[str, torch.Tensor | np.ndarray | Sequence[float]],
    ax: Axes | None = None,
    *,
    title: str = "How far back the gradient reaches",
    ylabel: str = r"$\|\partial S_T / \partial S_t\|_F$ (mean over the batch)",
) -> Axes:
    """Plot norms from :func:`state_jacobian_norms` against the lag T - t, on a log y-axis.

    Entries that are zero or not finite (a ReLU unit that is off, an overflow) are left out of
    the line, since a log axis cannot show them.

    Args:
        results: label -> norms, entry k for lag k (a tensor, array or list).
        ax: axes to draw on; a new figure when None.
        title: the axes title.
        ylabel: the y-axis label (say which norm was measured).

    Returns:
        The axes, with one line per entry of ``results`` and a legend.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ax = plot_jacobian_norms({"a = 0.9": 0.9 ** np.arange(10)})
        >>> ax.get_yscale()
        'log'
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError(f"expected a non-empty dict label -> norms, got {type(results).__name__}")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, values in results.items():
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().numpy()
        y = np.asarray(values, dtype=float)
        if y.ndim != 1:
            raise ValueError(f"expected 1-D norms for {label!r}, got shape {y.shape}")
        y = np.where(np.isfinite(y) & (y > 0), y, np.nan)
        ax.plot(np.arange(len(y)), y, label=str(label))
    ax.set_yscale("log")
    ax.set_xlabel("lag T - t (time steps)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax
