"""Backpropagation through time (BPTT) for the vanilla RNN, full and truncated, in NumPy.

The network (see ``rnnlib.reference.rnn``) is :math:`A_t = U x_t + W S_{t-1} + b`,
:math:`S_t = f(A_t)`, :math:`O_t = V S_t + c`, with a loss :math:`\\mathcal{L} = \\sum_t
\\mathcal{L}_t(O_t)`. Because :math:`S_t` depends on :math:`W` directly *and* through
:math:`S_{t-1}, S_{t-2}, \\dots`, the gradient of one loss term is a sum over the earlier steps:

.. math::
    \\frac{\\partial \\mathcal{L}}{\\partial W} = \\sum_{t=1}^{L} \\sum_{j=1}^{t}
    \\frac{\\partial \\mathcal{L}_t}{\\partial O_t} \\frac{\\partial O_t}{\\partial S_t}
    \\Bigl(\\prod_{i=j+1}^{t} \\frac{\\partial S_i}{\\partial S_{i-1}}\\Bigr)
    \\frac{\\partial^{+} S_j}{\\partial W},
    \\qquad \\frac{\\partial S_i}{\\partial S_{i-1}} = \\operatorname{diag}(f'(A_i))\\, W,

where :math:`\\partial^{+} S_j / \\partial W` is the *immediate* derivative of step j (with
:math:`S_{j-1}` held fixed). The same holds for :math:`U` and :math:`b`; :math:`V` and :math:`c`
need no sum over the past. Computing the double sum term by term costs :math:`O(L^2)` products;
BPTT gets the same numbers in :math:`O(L)` by running the product backwards once:

.. math::
    \\delta_t = \\frac{\\partial \\mathcal{L}}{\\partial S_t}
    = \\underbrace{\\frac{\\partial \\mathcal{L}_t}{\\partial S_t}}_{G_t}
      + W^{\\top}\\bigl(f'(A_{t+1}) \\odot \\delta_{t+1}\\bigr), \\qquad
    \\frac{\\partial \\mathcal{L}}{\\partial W} = \\sum_t \\bigl(f'(A_t) \\odot \\delta_t\\bigr)
    S_{t-1}^{\\top}.

**Truncation.** ``truncate=k`` with ``truncation="window"`` (the default, Williams & Peng's
BPTT(k)) keeps, for every loss term :math:`\\mathcal{L}_t`, only the k most recent terms of the
inner sum, :math:`j = t-k+1, \\dots, t`: each error signal travels back at most k steps
(k = 1 keeps only the immediate term). With k >= L nothing is cut and the result equals full
BPTT exactly. ``truncation="chunk"`` is what practitioners run: the sequence is cut into
consecutive chunks of k steps, the state is carried across a chunk boundary but no gradient
flows back through it (PyTorch's ``h.detach()``), so :math:`\\mathcal{L}_t` reaches back to
the start of its own chunk only (between 1 and k steps).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnlib.reference.functional import cross_entropy, mse_loss
from rnnlib.reference.rnn import NONLINEARITIES, check_params, rnn_forward

__all__ = ["rnn_backward", "bptt", "TRUNCATIONS"]

#: The two ways to truncate BPTT, see the module docstring.
TRUNCATIONS = ("window", "chunk")


def _check_truncate(truncate: int | None, truncation: str) -> None:
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
    if truncate is None:
        return
    if isinstance(truncate, bool) or not isinstance(truncate, (int, np.integer)):
        raise TypeError(f"truncate must be None or an int >= 1, got {type(truncate).__name__}")
    if truncate < 1:
        raise ValueError(f"truncate must be None or an int >= 1, got {truncate}")


def _dA_chunks(G: np.ndarray, fp: np.ndarray, W: np.ndarray, k: int) -> np.ndarray:
    """Gradients w.r.t. the pre-activations, backwards in time; no flow across chunk starts."""
    dA = np.empty_like(G)  # (L, [N,] H)
    carry = np.zeros_like(G[0])  # W^T (f'(A_{t+1}) * delta_{t+1}), the flow from the future
    for t in reversed(range(G.shape[0])):
        delta = G[t] + carry  # dL/dS_t
        dA[t] = fp[t] * delta  # dL/dA_t
        carry = np.zeros_like(carry) if t % k == 0 else dA[t] @ W  # cut at a chunk start
    return dA


def _dA_window(G: np.ndarray, fp: np.ndarray, W: np.ndarray, k: int) -> np.ndarray:
    """Each loss term's error signal travels back at most k steps, each term on its own."""
    dA = np.zeros_like(G)  # (L, [N,] H)
    for t in range(G.shape[0]):
        delta = G[t]  # dL_t/dS_t
        for j in range(t, max(t - k, -1), -1):  # j = t, t-1, ..., t-k+1
            step = fp[j] * delta  # dL_t/dA_j
            dA[j] += step
            delta = step @ W  # dL_t/dS_{j-1}
    return dA


def rnn_backward(
    params: Mapping[str, np.ndarray],
    cache: Mapping,
    dS: np.ndarray | None = None,
    dO: np.ndarray | None = None,
    *,
    truncate: int | None = None,
    truncation: str = "window",
) -> dict[str, np.ndarray]:
    """Backpropagation through time: gradients of a loss from its gradients w.r.t. S and O.

    The step-by-step recursion (full BPTT, ``truncate=None``), for t = L, ..., 1:

    .. math::
        G_t = \\frac{\\partial \\mathcal{L}}{\\partial S_t}\\Big|_{\\text{direct}}
            = \\mathrm{dS}_t + V^{\\top} \\mathrm{dO}_t, \\quad
        \\delta_t = G_t + W^{\\top} \\mathrm{dA}_{t+1}, \\quad
        \\mathrm{dA}_t = f'(A_t) \\odot \\delta_t,

    then :math:`\\partial\\mathcal{L}/\\partial U = \\sum_t \\mathrm{dA}_t x_t^{\\top}`,
    :math:`\\partial\\mathcal{L}/\\partial W = \\sum_t \\mathrm{dA}_t S_{t-1}^{\\top}`,
    :math:`\\partial\\mathcal{L}/\\partial b = \\sum_t \\mathrm{dA}_t`,
    :math:`\\partial\\mathcal{L}/\\partial V = \\sum_t \\mathrm{dO}_t S_t^{\\top}`,
    :math:`\\partial\\mathcal{L}/\\partial c = \\sum_t \\mathrm{dO}_t` and
    :math:`\\partial\\mathcal{L}/\\partial S_0 = W^{\\top} \\mathrm{dA}_1` (sums also run over
    the batch). This is the double sum over time of the module docstring, computed in O(L).

    Args:
        params: the parameters ``rnn_forward`` used.
        cache: the cache it returned.
        dS: gradient of the loss w.r.t. the states S (a loss on the states), or ``None``.
        dO: gradient of the loss w.r.t. the outputs O, or ``None``.
        truncate: ``None`` for full BPTT, or k >= 1 to truncate (see ``truncation``).
        truncation: ``"window"``: every loss term back-propagates through at most k steps;
            ``"chunk"``: no gradient crosses the starts of the chunks [0, k), [k, 2k), ...

    Shape:
        dS: like S, (L, H) or (L, N, H). dO: like O, (L, O) or (L, N, O).

    Returns:
        A dict with the keys of ``params`` (``bias_ih`` and ``bias_hh`` get the same gradient,
        that of b) and ``h0``, the gradient w.r.t. the initial state :math:`S_0`.

    Raises:
        ValueError: if neither gradient is given, a shape is wrong, or dO is given for a
            network without an output layer.

    Example:
        >>> from rnnlib.reference import init_rnn_params, rnn_forward
        >>> p = init_rnn_params(2, 3, 1, rng=np.random.default_rng(0))
        >>> S, O, cache = rnn_forward(p, np.ones((5, 2)))
        >>> g = rnn_backward(p, cache, dO=np.ones_like(O))
        >>> g["weight_hh"].shape, g["h0"].shape
        ((3, 3), (3,))
    """
    _, hidden, out = check_params(params)
    _check_truncate(truncate, truncation)
    if not isinstance(cache, Mapping) or not {"x", "h0", "A", "S", "nonlinearity"} <= set(cache):
        raise TypeError("cache must be the dict returned by rnn_forward")
    S, A, x, h0 = cache["S"], cache["A"], cache["x"], cache["h0"]
    if dS is None and dO is None:
        raise ValueError("give dS, dO or both: the gradient of the loss w.r.t. S and/or O")
    G = np.zeros_like(S)  # (L, [N,] H) direct gradient dL_t/dS_t
    if dS is not None:
        dS = np.asarray(dS, dtype=np.float64)
        if dS.shape != S.shape:
            raise ValueError(f"dS must have the shape of S {S.shape}, got {dS.shape}")
        G += dS
    if dO is not None:
        if out is None:
            raise ValueError("dO given, but params has no output layer (weight_ho, bias_ho)")
        dO = np.asarray(dO, dtype=np.float64)
        if dO.shape != S.shape[:-1] + (out,):
            raise ValueError(f"dO must have the shape of O {S.shape[:-1] + (out,)}, "
                             f"got {dO.shape}")
        G += dO @ params["weight_ho"]  # V^T dO_t, as rows
    if S.shape[-1] != hidden:
        raise ValueError(f"cache holds states of size {S.shape[-1]}, params have H={hidden}")

    W = params["weight_hh"]
    fp = NONLINEARITIES[cache["nonlinearity"]][1](A)  # f'(A_t), (L, [N,] H)
    L = S.shape[0]
    if truncate is None or (truncation == "chunk" and truncate >= L):
        dA = _dA_chunks(G, fp, W, L)  # full BPTT: one chunk
    elif truncation == "chunk":
        dA = _dA_chunks(G, fp, W, truncate)
    else:
        dA = _dA_window(G, fp, W, min(truncate, L))

    S_prev = np.concatenate([h0[None], S[:-1]])  # (L, [N,] H): S_0 .. S_{L-1}
    rows = dA.reshape(-1, hidden)  # (L*N, H): time and batch both summed over below
    db = rows.sum(0)
    grads = {
        "weight_ih": rows.T @ x.reshape(rows.shape[0], -1),  # sum_t dA_t x_t^T
        "weight_hh": rows.T @ S_prev.reshape(-1, hidden),  # sum_t dA_t S_{t-1}^T
        "bias_ih": db,
        "bias_hh": db.copy(),
    }
    if out is not None:
        dO = np.zeros(S.shape[:-1] + (out,)) if dO is None else dO
        dO_rows = dO.reshape(-1, out)  # (L*N, O)
        grads["weight_ho"] = dO_rows.T @ S.reshape(-1, hidden)  # sum_t dO_t S_t^T
        grads["bias_ho"] = dO_rows.sum(0)
    grads["h0"] = dA[0] @ W  # W^T dA_1, as rows
    return grads


def bptt(
    params: Mapping[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    loss: str = "mse",
    h0: np.ndarray | None = None,
    nonlinearity: str = "tanh",
    truncate: int | None = None,
    *,
    truncation: str = "window",
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss of an RNN with an output layer on a sequence, and its gradients by (truncated) BPTT.

    The loss is the mean over all outputs, :math:`\\mathcal{L} = \\frac{1}{n}\\sum_t
    \\ell(O_t, y_t)`: the sources' sum over time divided by a constant, which equals
    ``torch.nn.MSELoss()`` / ``torch.nn.CrossEntropyLoss()`` applied to all steps at once.

    Args:
        params: parameters with an output layer, see ``init_rnn_params``.
        x: inputs, time first.
        y: targets: real values like O for ``"mse"``; integer classes for
            ``"cross_entropy"`` (``-100`` marks a step without a target).
        loss: ``"mse"`` or ``"cross_entropy"``.
        h0: initial state :math:`S_0`, or ``None`` for zeros.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        truncate: ``None`` for full BPTT; k >= 1 truncates, see ``rnn_backward``.
        truncation: ``"window"`` (each loss term reaches back at most k steps) or ``"chunk"``.

    Shape:
        x: (L, H_in) or (L, N, H_in). y: (L, [N,] O) for mse, (L, [N]) for cross-entropy.

    Returns:
        ``(loss, grads)`` with ``grads`` as from ``rnn_backward``.

    Raises:
        ValueError: for an unknown loss, a network without an output layer, or wrong shapes.

    Example:
        >>> from rnnlib.reference import init_rnn_params
        >>> p = init_rnn_params(1, 4, 3, rng=np.random.default_rng(0))
        >>> x = np.ones((6, 1)); y = np.array([0, 1, 2, 0, 1, 2])
        >>> loss, g = bptt(p, x, y, loss="cross_entropy", truncate=2)
        >>> round(loss, 2) > 0, sorted(g)[:2]
        (True, ['bias_hh', 'bias_ho'])
    """
    losses = {"mse": mse_loss, "cross_entropy": cross_entropy}
    if loss not in losses:
        raise ValueError(f"loss must be one of {sorted(losses)}, got {loss!r}")
    if check_params(params)[2] is None:
        raise ValueError("bptt needs an output layer: params must hold weight_ho and bias_ho")
    _check_truncate(truncate, truncation)
    _, O, cache = rnn_forward(params, x, h0, nonlinearity)  # noqa: E741
    value, dO = losses[loss](O, y)
    return value, rnn_backward(params, cache, dO=dO, truncate=truncate, truncation=truncation)
