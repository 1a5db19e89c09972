"""Connectionist temporal classification (CTC): the collapse map, its sum, and decoding.

A network that reads ``T`` frames and emits, at every frame, a distribution over ``C``
classes (the ``C - 1`` labels and a *blank*) defines a probability for every labelling
:math:`\\ell` of at most ``T`` labels (Graves et al., 2006). A path
:math:`\\pi = (\\pi_1, \\dots, \\pi_T)` picks one class per frame; the collapse map
:math:`\\mathcal{B}` merges repeated classes and then removes blanks
(:math:`\\mathcal{B}(\\texttt{-33-7-}) = \\texttt{37}`), and

.. math::
    p(\\ell \\mid x) = \\sum_{\\pi \\in \\mathcal{B}^{-1}(\\ell)} \\prod_{t=1}^{T} y^t_{\\pi_t},

where :math:`y^t_k` is the probability of class :math:`k` at frame :math:`t`.
:func:`sequence_log_prob` computes :math:`\\log p(\\ell \\mid x)` by the forward recursion
(``torch.nn.CTCLoss`` is its negative). Decoding looks for the most probable labelling:
:func:`greedy_decode` collapses the most probable path (best-path decoding), and
:func:`prefix_beam_search` keeps the ``beam_width`` most probable *prefixes*, each with its
probability summed over all the paths that produce it; with a beam wide enough to keep every
prefix it returns the exact most probable labelling.

Log-probabilities are batch first, ``(N, T, C)``, or unbatched, ``(T, C)``: the
``log_softmax`` of a batch-first model's output (``torch.nn.CTCLoss`` wants them transposed
to ``(T, N, C)``). Labels are class ids other than ``blank``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "beam_hypotheses",
    "collapse",
    "greedy_decode",
    "prefix_beam_search",
    "sequence_log_prob",
]


def _check_blank(blank: int, classes: int | None = None) -> None:
    if isinstance(blank, bool) or not isinstance(blank, int) or blank < 0:
        raise ValueError(f"expected blank to be a non-negative int, got {blank!r}")
    if classes is not None and blank >= classes:
        raise ValueError(f"expected blank in [0, {classes}), the classes, got {blank}")


def collapse(path: Sequence[int] | Tensor, blank: int = 0) -> list[int]:
    """The collapse map :math:`\\mathcal{B}`: merge runs of a class, then drop blanks.

    Example:
        >>> collapse([0, 3, 3, 0, 7, 7, 0])
        [3, 7]
        >>> collapse([3, 0, 3, 3])  # a blank separates two 3s; a run does not
        [3, 3]
    """
    _check_blank(blank)
    if isinstance(path, Tensor):
        if path.dim() != 1 or path.is_floating_point():
            raise ValueError(f"expected a 1-D integer path, got {tuple(path.shape)} {path.dtype}")
        path = path.tolist()
    out, previous = [], None
    for k in path:
        if k != previous and k != blank:
            out.append(int(k))
        previous = k
    return out


def _check_log_probs(log_probs: Tensor, lengths: Tensor | None, blank: int):
    """Validate; return (log_probs as (N, T, C), lengths as a list, unbatched flag)."""
    if not isinstance(log_probs, Tensor) or log_probs.dim() not in (2, 3) \
            or not log_probs.is_floating_point():
        got = (f"{tuple(log_probs.shape)} {log_probs.dtype}" if isinstance(log_probs, Tensor)
               else type(log_probs).__name__)
        raise ValueError(f"expected float log-probabilities of shape (N, T, C) or (T, C), "
                         f"got {got}")
    unbatched = log_probs.dim() == 2
    lp = log_probs.detach().unsqueeze(0) if unbatched else log_probs.detach()  # (N, T, C)
    n, t, c = lp.shape
    if c < 2:
        raise ValueError(f"expected at least two classes (a label and the blank), got C = {c}")
    _check_blank(blank, c)
    if lp.numel():
        sums = lp.double().logsumexp(-1).exp()  # (N, T): 1 for log-probabilities
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3, rtol=0):
            raise ValueError(
                "expected log-probabilities (e.g. log_softmax over the last dimension), whose "
                f"exponentials sum to 1 over the classes; got sums from {float(sums.min()):.4g} "
                f"to {float(sums.max()):.4g}: were logits passed?"
            )
    if lengths is None:
        lens = [t] * n
    else:
        lengths = torch.as_tensor(lengths)
        expected = () if unbatched else (n,)
        if lengths.shape != expected or lengths.is_floating_point():
            raise ValueError(f"expected integer lengths of shape {expected}, got "
                             f"{tuple(lengths.shape)} {lengths.dtype}")
        lens = lengths.reshape(-1).tolist()
        if any(not 0 <= k <= t for k in lens):
            raise ValueError(f"expected lengths in [0, {t}], got {lens}")
    return lp, lens, unbatched


def greedy_decode(
    log_probs: Tensor, lengths: Tensor | None = None, blank: int = 0
) -> list[list[int]] | list[int]:
    """Best-path decoding: :math:`\\mathcal{B}(\\pi^*)` with :math:`\\pi^*_t = \\arg\\max_k y^t_k`.

    The most probable *path* is not always the most probable *labelling*, which sums over
    paths; :func:`prefix_beam_search` searches for the latter.

    Args:
        log_probs: ``(N, T, C)`` or ``(T, C)`` log-probabilities.
        lengths: ``(N,)`` real frames per sequence (default: all ``T``); for unbatched input a
            0-d tensor or None.
        blank: the class id of the blank.

    Returns:
        A list of labellings (lists of class ids), or one labelling for unbatched input.

    Example:
        >>> lp = torch.tensor([[0.6, 0.4, 0.0], [0.6, 0.4, 0.0], [0.1, 0.0, 0.9]]).log()
        >>> greedy_decode(lp)
        [2]
    """
    lp, lens, unbatched = _check_log_probs(log_probs, lengths, blank)
    best = lp.argmax(-1).tolist()  # (N, T)
    out = [collapse(row[:k], blank) for row, k in zip(best, lens, strict=True)]
    return out[0] if unbatched else out


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def beam_hypotheses(
    log_probs: Tensor, beam_width: int = 8, blank: int = 0
) -> list[tuple[tuple[int, ...], float]]:
    """Prefix beam search over one sequence; the beam's labellings with their log-probabilities.

    Each prefix :math:`\\ell` in the beam carries two numbers after frame :math:`t`: the
    probability :math:`p_b` of the paths :math:`\\pi_{1:t}` with :math:`\\mathcal{B}(\\pi_{1:t})
    = \\ell` that end in a blank, and :math:`p_{nb}` of those that end in a label. Frame
    :math:`t + 1` extends them: a blank keeps :math:`\\ell` (to :math:`p_b`); the last label of
    :math:`\\ell` repeated keeps :math:`\\ell` (from :math:`p_{nb}`), and extends it by a second
    copy only after a blank (from :math:`p_b`); any other label :math:`k` extends it to
    :math:`\\ell k` (from both). Prefixes reached in several ways add their probabilities.
    After each frame only the ``beam_width`` prefixes with the largest :math:`p_b + p_{nb}`
    are kept. Without pruning (a beam as wide as the number of prefixes) the final numbers
    are the exact :math:`\\log p(\\ell \\mid x)` of :func:`sequence_log_prob`.

    Args:
        log_probs: ``(T, C)`` log-probabilities of one sequence (its real frames).
        beam_width: prefixes kept after each frame, at least 1.
        blank: the class id of the blank.

    Returns:
        ``[(labelling, log_prob), ...]``, most probable first; at most ``beam_width`` entries.

    Example:
        >>> lp = torch.tensor([[0.6, 0.4, 0.0], [0.6, 0.4, 0.0], [0.1, 0.0, 0.9]]).log()
        >>> [(labels, round(math.exp(score), 3)) for labels, score in beam_hypotheses(lp, 4)]
        [((1, 2), 0.576), ((2,), 0.324), ((1,), 0.064), ((), 0.036)]
    """
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"expected beam_width to be a positive int, got {beam_width!r}")
    if isinstance(log_probs, Tensor) and log_probs.dim() != 2:
        raise ValueError(f"expected the (T, C) log-probabilities of one sequence, got shape "
                         f"{tuple(log_probs.shape)}")
    lp, _, _ = _check_log_probs(log_probs, None, blank)
    rows = lp[0].double().tolist()  # (T, C)
    neg = -math.inf
    beam: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, neg)}  # prefix: (p_b, p_nb)
    for row in rows:
        nxt: dict[tuple[int, ...], list[float]] = {}

        def add(prefix, blank_end, value, nxt=nxt):
            if value == neg:  # no path: do not create the prefix
                return
            entry = nxt.setdefault(prefix, [neg, neg])
            entry[blank_end] = _logaddexp(entry[blank_end], value)

        for prefix, (p_b, p_nb) in beam.items():
            total = _logaddexp(p_b, p_nb)
            add(prefix, 0, total + row[blank])  # index 0: ends in a blank
            last = prefix[-1] if prefix else None
            for k, lp_k in enumerate(row):
                if k == blank or lp_k == neg:
                    continue
                if k == last:
                    add(prefix, 1, p_nb + lp_k)  # a run goes on: same labelling
                    add(prefix + (k,), 1, p_b + lp_k)  # after a blank: a new copy of k
                else:
                    add(prefix + (k,), 1, total + lp_k)
        ranked = sorted(nxt.items(), key=lambda item: -_logaddexp(*item[1]))
        beam = {prefix: (pb, pnb) for prefix, (pb, pnb) in ranked[:beam_width]}
    return [(prefix, _logaddexp(pb, pnb)) for prefix, (pb, pnb) in beam.items()]


def prefix_beam_search(
    log_probs: Tensor, lengths: Tensor | None = None, beam_width: int = 8, blank: int = 0
) -> list[list[int]] | list[int]:
    """The most probable labelling found by prefix beam search (:func:`beam_hypotheses`).

    Args:
        log_probs: ``(N, T, C)`` or ``(T, C)`` log-probabilities.
        lengths: ``(N,)`` real frames per sequence (default: all ``T``).
        beam_width: prefixes kept after each frame.
        blank: the class id of the blank.

    Returns:
        A list of labellings, or one labelling for unbatched input.

    Example:
        >>> lp = torch.tensor([[0.6, 0.4, 0.0], [0.6, 0.4, 0.0], [0.1, 0.0, 0.9]]).log()
        >>> prefix_beam_search(lp), greedy_decode(lp)  # the best labelling, the best path's
        ([1, 2], [2])
    """
    lp, lens, unbatched = _check_log_probs(log_probs, lengths, blank)
    out = [list(beam_hypotheses(seq[:k], beam_width, blank)[0][0])
           for seq, k in zip(lp, lens, strict=True)]
    return out[0] if unbatched else out


def sequence_log_prob(log_probs: Tensor, labels: Sequence[int] | Tensor, blank: int = 0) -> Tensor:
    """:math:`\\log p(\\ell \\mid x)`, the CTC sum over all paths that collapse to ``labels``.

    The forward recursion of Graves et al. (2006) over the extended labelling
    :math:`\\ell' = (\\text{blank}, \\ell_1, \\text{blank}, \\ell_2, \\dots, \\ell_U,
    \\text{blank})`: :math:`\\alpha_t(s)` is the probability of the paths of ``t`` frames
    that produce :math:`\\ell'_{1:s}`, with

    .. math::
        \\alpha_t(s) = y^t_{\\ell'_s}\\bigl(\\alpha_{t-1}(s) + \\alpha_{t-1}(s-1)
        + [\\ell'_s \\ne \\text{blank},\\ \\ell'_s \\ne \\ell'_{s-2}]\\, \\alpha_{t-1}(s-2)\\bigr),

    and :math:`p(\\ell \\mid x) = \\alpha_T(2U + 1) + \\alpha_T(2U)`. Computed in log space,
    differentiable; ``torch.nn.CTCLoss(reduction="sum")`` returns its negative.

    Args:
        log_probs: ``(T, C)`` log-probabilities of one sequence.
        labels: the labelling, class ids other than ``blank`` (may be empty).
        blank: the class id of the blank.

    Returns:
        A 0-d tensor; ``-inf`` if no path of ``T`` frames produces ``labels``.

    Example:
        >>> lp = torch.tensor([[0.6, 0.4, 0.0], [0.6, 0.4, 0.0], [0.1, 0.0, 0.9]]).log()
        >>> round(sequence_log_prob(lp, [1, 2]).exp().item(), 3)
        0.576
    """
    if not isinstance(log_probs, Tensor) or log_probs.dim() != 2:
        got = tuple(log_probs.shape) if isinstance(log_probs, Tensor) else type(log_probs).__name__
        raise ValueError(f"expected the (T, C) log-probabilities of one sequence, got {got}")
    _check_log_probs(log_probs, None, blank)
    labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1).tolist()
    c = log_probs.shape[1]
    if any(k == blank or not 0 <= k < c for k in labels):
        raise ValueError(f"expected labels in [0, {c}) other than the blank {blank}, "
                         f"got {labels}")
    ext = [blank]
    for k in labels:
        ext += [k, blank]
    s_len = len(ext)
    ext_t = torch.tensor(ext, device=log_probs.device)
    # the s - 2 move is allowed into a label that differs from the label two places back
    skip = torch.tensor([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]
                         for s in range(s_len)], device=log_probs.device)
    # a finite stand-in for log 0, so that logsumexp of impossible states has a finite gradient
    tiny = -1e30
    neg = torch.tensor(tiny, dtype=log_probs.dtype, device=log_probs.device)
    alpha = torch.full((s_len,), tiny, dtype=log_probs.dtype, device=log_probs.device)
    alpha[0] = log_probs[0, blank]
    if s_len > 1:
        alpha[1] = log_probs[0, ext[1]]
    for t in range(1, log_probs.shape[0]):
        stay = alpha
        step = torch.cat([neg.view(1), alpha[:-1]])
        jump = torch.where(skip, torch.cat([neg.expand(2), alpha[:-2]])[:s_len], neg)
        alpha = torch.logsumexp(torch.stack([stay, step, jump]), dim=0) + log_probs[t, ext_t]
    total = torch.logsumexp(alpha[-2:], dim=0) if s_len > 1 else alpha[-1]
    return torch.where(total < tiny / 2, torch.full_like(total, -math.inf), total)
