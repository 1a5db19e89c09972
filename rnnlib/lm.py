"""Character-level language models: stream batches, bits per character, sampling, n-grams.

A language model gives every next character a probability, :math:`P(c_{t+1} \\mid c_1 \\dots
c_t)`. Trained on one long text, a recurrent model reads it as a few parallel *streams* whose
state is carried from one batch to the next (truncated BPTT in chunks, chapter 03):
:func:`stream_batches` lays the text out so that row i of every batch continues row i of the
batch before. :func:`bits_per_char` scores a model on held-out text, :func:`evaluate_bpc` does
so for a whole block with the state carried, :func:`sample` writes new text with a temperature
and top-k, and :class:`NGramLM` is the counting baseline every neural model must beat.

A model here is any module called as ``model(input, hx) -> (logits, h_n)`` with ``input`` of
shape ``(N, L)`` (character ids), ``logits`` of shape ``(N, L, V)`` and ``h_n`` the state to
pass on, a tensor or a tuple of tensors; :class:`CharLM` is one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "CharLM",
    "NGramLM",
    "bits_per_char",
    "detach_state",
    "evaluate_bpc",
    "nats_to_bits",
    "next_probs",
    "sample",
    "stream_batches",
]

State = Tensor | tuple[Tensor, ...]


def _check_ids(name: str, ids: object, dim: int = 1) -> Tensor:
    if not isinstance(ids, Tensor) or ids.dim() != dim or ids.dtype != torch.long:
        got = f"{ids.dtype} of shape {tuple(ids.shape)}" if isinstance(ids, Tensor) else type(ids)
        shape = "(n,)" if dim == 1 else "(N, L)"
        raise ValueError(f"expected {name} to be a torch.long tensor of shape {shape}, got {got}")
    return ids


def _check_int(name: str, value: object, low: int, high: float = math.inf) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        bound = f">= {low}" if high == math.inf else f"in [{low}, {high}]"
        raise ValueError(f"expected {name} to be an int {bound}, got {value!r}")
    return value


def stream_batches(ids: Tensor, num_streams: int, length: int) -> tuple[Tensor, Tensor]:
    """Lay a text out as ``N`` parallel streams, cut into consecutive ``(N, L)`` batches.

    The ids :math:`c_0 \\dots c_{n-1}` are cut into ``N`` contiguous streams of
    :math:`M = B L` characters each, :math:`B = \\lfloor (n - 1) / (N L) \\rfloor`; stream i
    holds :math:`c_{iM} \\dots c_{iM + M - 1}`. Batch b is the b-th window of L characters of
    every stream, and its targets are the same windows shifted by one character. So row i of
    batch b + 1 continues row i of batch b: a model that carries its state from one batch to the
    next (detached: truncated BPTT in chunks) reads every stream from its start. The last
    characters that do not fill a batch are dropped.

    Args:
        ids: the text as ids, ``(n,)``, ``torch.long``.
        num_streams: N, the rows of a batch.
        length: L, the steps of a batch (the truncation length of BPTT).

    Shape:
        - x: ``(B, N, L)``, ``x[b, i, j] = ids[i * M + b * L + j]``.
        - y: ``(B, N, L)``, ``y[b, i, j] = ids[i * M + b * L + j + 1]``.

    Returns:
        ``(x, y)``; views of ``ids`` where possible.

    Raises:
        ValueError: for ids that are not a 1-D long tensor, or N, L that leave no batch.

    Example:
        >>> x, y = stream_batches(torch.arange(13), num_streams=2, length=3)
        >>> x.tolist()
        [[[0, 1, 2], [6, 7, 8]], [[3, 4, 5], [9, 10, 11]]]
        >>> y[0].tolist()
        [[1, 2, 3], [7, 8, 9]]
    """
    _check_ids("ids", ids)
    _check_int("num_streams", num_streams, 1)
    _check_int("length", length, 1)
    batches = (len(ids) - 1) // (num_streams * length)
    if batches < 1:
        raise ValueError(
            f"a text of {len(ids)} ids is too short for one batch of {num_streams} streams x "
            f"{length} steps (it needs {num_streams * length + 1} ids)"
        )
    used = batches * num_streams * length

    def lay_out(s: Tensor) -> Tensor:  # (used,) -> (B, N, L)
        return s.reshape(num_streams, batches, length).transpose(0, 1)

    return lay_out(ids[:used]), lay_out(ids[1 : used + 1])


def nats_to_bits(nats: float | Tensor) -> float | Tensor:
    """Convert a log-loss from nats (natural log) to bits: divide by :math:`\\ln 2`.

    Example:
        >>> nats_to_bits(math.log(4))
        2.0
    """
    return nats / math.log(2)


def bits_per_char(logits: Tensor, targets: Tensor, ignore_index: int = -100) -> Tensor:
    """Mean number of bits a model spends per target character.

    .. math:: \\text{bpc} = -\\frac{1}{T} \\sum_{t=1}^{T} \\log_2 P(c_t)
        = \\frac{1}{\\ln 2} \\cdot \\text{cross-entropy in nats},

    with :math:`P(c_t)` the softmax of the logits at the target. A model that spreads its
    probability evenly over V characters scores :math:`\\log_2 V`; one that is always sure and
    right scores 0.

    Args:
        logits: unnormalised scores, ``(..., V)``.
        targets: ids of shape ``logits.shape[:-1]``; positions equal to ``ignore_index`` are
            not counted.
        ignore_index: the id of positions without a target.

    Returns:
        The mean in bits, a 0-d tensor that is differentiable (usable as a loss).

    Raises:
        ValueError: if the shapes do not match or the targets are not integer ids.

    Example:
        >>> bits_per_char(torch.zeros(2, 3, 8), torch.zeros(2, 3, dtype=torch.long))
        tensor(3.)
    """
    if not isinstance(logits, Tensor) or not isinstance(targets, Tensor):
        raise TypeError("expected logits and targets to be tensors")
    if logits.dim() < 1 or logits.shape[:-1] != targets.shape or targets.dtype != torch.long:
        raise ValueError(
            f"expected logits (..., V) and long targets of shape logits.shape[:-1], got logits "
            f"{tuple(logits.shape)} and targets {targets.dtype} {tuple(targets.shape)}"
        )
    nats = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=ignore_index
    )
    return nats_to_bits(nats)


def detach_state(hx: State | None) -> State | None:
    """The state cut off from the graph (``h.detach()``, also for an LSTM's ``(h, c)``).

    Between two batches of truncated BPTT the state is carried as a constant: the next batch
    starts where this one ended, but back-propagates only through its own steps.
    """
    if hx is None:
        return None
    if isinstance(hx, tuple):
        return tuple(h.detach() for h in hx)
    return hx.detach()


class CharLM(nn.Module):
    """A character-level language model: embedding, recurrent layer, read-out at every step.

    .. math:: x_t = E[c_t], \\quad S_t = \\text{layer}(x_t, S_{t-1}), \\quad
        O_t = V S_t + b_V, \\quad P(c_{t+1} \\mid c_{\\le t}) = \\operatorname{softmax}(O_t).

    Args:
        vocab_size: V, the number of characters.
        embedding_dim: size of each character's vector :math:`x_t` (the rows of :math:`E`).
        layer: a batch-first recurrent layer with torch.nn's interface whose ``input_size`` is
            ``embedding_dim`` (``rnnlib.LSTM``, ``torch.nn.GRU``, ...).

    Shape:
        - input: ``(N, L)`` ids; ``hx``: the layer's state or ``None`` (zeros).
        - output: ``(logits, h_n)`` with logits ``(N, L, V)``.

    Example:
        >>> from rnnlib import GRU
        >>> model = CharLM(10, 4, GRU(4, 8, batch_first=True))
        >>> logits, h = model(torch.zeros(2, 5, dtype=torch.long))
        >>> tuple(logits.shape), tuple(h.shape)
        ((2, 5, 10), (1, 2, 8))
    """

    def __init__(self, vocab_size: int, embedding_dim: int, layer: nn.Module) -> None:
        super().__init__()
        _check_int("vocab_size", vocab_size, 1)
        _check_int("embedding_dim", embedding_dim, 1)
        if getattr(layer, "input_size", None) != embedding_dim or not getattr(
            layer, "batch_first", False
        ):
            raise ValueError(
                f"expected a batch-first recurrent layer with input_size={embedding_dim}, got "
                f"{type(layer).__name__} with input_size={getattr(layer, 'input_size', None)}, "
                f"batch_first={getattr(layer, 'batch_first', None)}"
            )
        directions = 2 if getattr(layer, "bidirectional", False) else 1
        if directions != 1:
            raise ValueError("expected a unidirectional layer: a language model cannot read ahead")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.layer = layer
        self.head = nn.Linear(layer.hidden_size, vocab_size)

    def forward(self, input: Tensor, hx: State | None = None) -> tuple[Tensor, State]:
        _check_ids("input", input, dim=2)
        output, h_n = self.layer(self.embedding(input), hx)  # (N, L, H_out)
        return self.head(output), h_n  # (N, L, V)


@torch.no_grad()
def evaluate_bpc(model: nn.Module, ids: Tensor, num_streams: int = 16, length: int = 256) -> float:
    """Bits per character of ``model`` on a whole block, the state carried across batches.

    The block is laid out by :func:`stream_batches`; each of the N streams starts from the
    zero state and is then read with its state carried, so every character but the first few
    of each stream is predicted from all of its stream's past. The characters that do not fill
    a batch are not scored.

    Args:
        model: ``model(input, hx) -> (logits, h_n)``, e.g. a :class:`CharLM`.
        ids: the block, ``(n,)``.
        num_streams: N.
        length: L, the steps run at once (it does not change the result, only the speed).

    Returns:
        The mean bits per scored character, a float.
    """
    x, y = stream_batches(ids, num_streams, length)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        hx, total = None, 0.0
        for xb, yb in zip(x, y, strict=True):  # (N, L) each
            logits, hx = model(xb.to(device), hx)
            total += float(bits_per_char(logits, yb.to(device)))
    finally:
        model.train(was_training)
    return total / len(x)


def next_probs(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """The distribution that :func:`sample` draws the next character from.

    .. math:: P(c) \\propto \\exp(O_c / \\tau) \\text{ for the } k \\text{ largest } O_c,
        \\qquad P(c) = 0 \\text{ for the others}.

    A temperature :math:`\\tau < 1` sharpens the model's distribution (towards always taking
    the most likely character), :math:`\\tau > 1` flattens it (towards uniform); top-k removes
    the long tail of unlikely characters. Ties at the k-th largest logit are all kept.

    Args:
        logits: ``(V,)`` or ``(N, V)``.
        temperature: :math:`\\tau > 0`.
        top_k: keep the k most likely characters, 1 <= k <= V; ``None`` keeps all.

    Returns:
        Probabilities of the shape of ``logits``, each row summing to 1.

    Raises:
        ValueError: for temperature <= 0 (or not finite), or k outside [1, V].

    Example:
        >>> next_probs(torch.tensor([0.0, math.log(3.0)]))
        tensor([0.2500, 0.7500])
        >>> next_probs(torch.tensor([0.0, 1.0, 2.0]), top_k=1)
        tensor([0., 0., 1.])
    """
    if not isinstance(logits, Tensor) or logits.dim() not in (1, 2) or logits.shape[-1] < 1:
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"expected logits of shape (V,) or (N, V), got {got}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
        0 < temperature < math.inf
    ):
        raise ValueError(f"expected a finite temperature > 0, got {temperature!r}")
    scaled = logits.float() / temperature
    if top_k is not None:
        _check_int("top_k", top_k, 1, logits.shape[-1])
        kth = scaled.topk(top_k, dim=-1).values[..., -1:]  # (..., 1): the k-th largest
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    return torch.softmax(scaled, dim=-1)


@torch.no_grad()
def sample(
    model: nn.Module,
    prompt: Sequence[int] | Tensor,
    length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    num_samples: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Write ``length`` new characters after ``prompt``, one at a time.

    The model reads the prompt, then repeatedly draws :math:`c_{t+1}` from
    :func:`next_probs` of its last output and reads it back in, carrying its state. With
    ``num_samples = N`` it writes N continuations of the same prompt at once, as one batch.
    The draws are made on the CPU with ``generator``, so a seeded generator gives the same text
    on every device (up to the rounding of the logits).

    Args:
        model: ``model(input, hx) -> (logits, h_n)``, e.g. a :class:`CharLM`.
        prompt: at least one id, a sequence or a ``(P,)`` long tensor.
        length: how many characters to write, >= 1.
        temperature: :math:`\\tau > 0`.
        top_k: draw among the k most likely characters only (``None``: all).
        num_samples: N >= 1 continuations, or ``None`` for one without a batch dimension.
        generator: a CPU ``torch.Generator`` (``None``: the global one).

    Shape:
        ``(length,)``, or ``(N, length)`` with ``num_samples``; on the CPU, without the prompt.

    Example:
        >>> from rnnlib import GRU
        >>> _ = torch.manual_seed(0)
        >>> model = CharLM(5, 3, GRU(3, 4, batch_first=True))
        >>> g = torch.Generator().manual_seed(0)
        >>> sample(model, [1, 2], 6, num_samples=2, generator=g).shape
        torch.Size([2, 6])
    """
    if not isinstance(prompt, Tensor):
        prompt = torch.tensor(list(prompt), dtype=torch.long)
    _check_ids("prompt", prompt)
    if len(prompt) < 1:
        raise ValueError("expected a prompt of at least one id, got none")
    _check_int("length", length, 1)
    rows = 1 if num_samples is None else _check_int("num_samples", num_samples, 1)
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"expected a CPU generator, got one on {generator.device}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        logits, hx = model(prompt.expand(rows, -1).to(device))  # (N, P, V)
        out = []
        for _ in range(length):
            probs = next_probs(logits[:, -1].cpu(), temperature, top_k)  # (N, V)
            nxt = torch.multinomial(probs, 1, generator=generator)  # (N, 1)
            out.append(nxt)
            logits, hx = model(nxt.to(device), hx)  # (N, 1, V)
    finally:
        model.train(was_training)
    drawn = torch.cat(out, dim=1)  # (N, length)
    return drawn[0] if num_samples is None else drawn


class NGramLM:
    """A character n-gram model: counts on a training text, smoothed.

    The probability of c after the history h (the last ``order - 1`` characters) is estimated
    from counts :math:`C(\\cdot)` of the training text, in one of two ways:

    - ``"witten-bell"`` (interpolated, Witten & Bell 1991; Chen & Goodman 1999): with
      :math:`h'` the history without its oldest character and :math:`u(h)` the number of
      distinct characters seen after h,

      .. math:: P(c \\mid h) = \\frac{C(hc) + u(h)\\, P(c \\mid h')}{C(h) + u(h)},

      down to the empty history, whose lower order is the uniform :math:`1/V`; a history never
      seen (:math:`C(h) = 0`) uses :math:`P(c \\mid h')`.
    - ``"add-k"``: :math:`P(c \\mid h) = (C(hc) + k) / (C(h) + kV)`.

    At the start of a text, where fewer than ``order - 1`` characters precede, the history is
    what there is. Every distribution sums to 1 over the V characters.

    Args:
        order: n >= 1 (1: unigram, 2: bigram, ...).
        vocab_size: V; the ids must lie in [0, V).
        smoothing: ``"witten-bell"`` or ``"add-k"``.
        k: the pseudo-count of add-k, > 0.

    Example:
        >>> lm = NGramLM(2, vocab_size=3).fit(torch.tensor([0, 1, 0, 1, 0, 2]))
        >>> lm.probs([0]).sum().item()
        1.0
        >>> round(lm.bits_per_char(torch.tensor([0, 1, 0, 1])), 3)
        0.82
    """

    def __init__(
        self, order: int, vocab_size: int, *, smoothing: str = "witten-bell", k: float = 1.0
    ) -> None:
        self.order = _check_int("order", order, 1)
        self.vocab_size = _check_int("vocab_size", vocab_size, 1)
        if smoothing not in ("witten-bell", "add-k"):
            raise ValueError(f"expected smoothing 'witten-bell' or 'add-k', got {smoothing!r}")
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not 0 < k < math.inf:
            raise ValueError(f"expected a finite k > 0, got {k!r}")
        self.smoothing, self.k = smoothing, float(k)
        self._grams: list[Counter] | None = None  # [m]: counts of m-grams hc, len(h) = m - 1

    def _text(self, ids: Tensor | Sequence[int]) -> str:
        if not isinstance(ids, Tensor):
            ids = list(ids)
            ids = torch.as_tensor(ids) if ids else torch.zeros(0, dtype=torch.long)
        if ids.dim() != 1 or ids.dtype != torch.long:
            raise ValueError(f"expected ids of shape (n,), torch.long, got {ids.dtype} "
                             f"{tuple(ids.shape)}")
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise ValueError(
                f"expected ids in [0, {self.vocab_size}), got ids in "
                f"[{int(ids.min())}, {int(ids.max())}]"
            )
        return "".join(map(chr, ids.tolist()))  # one character per id: fast slices and keys

    def fit(self, ids: Tensor | Sequence[int]) -> NGramLM:
        """Count the m-grams of ``ids`` for m = 1 ... order; returns ``self``."""
        s = self._text(ids)
        if len(s) < 1:
            raise ValueError("expected a training text of at least one id, got none")
        self._grams = [Counter()] + [
            Counter(s[i : i + m] for i in range(len(s) - m + 1)) for m in range(1, self.order + 1)
        ]
        self._context, self._types = Counter(), Counter()  # C(h) and u(h), h followed by a char
        for grams in self._grams[1:]:
            for gram, count in grams.items():
                self._context[gram[:-1]] += count
                self._types[gram[:-1]] += 1
        return self

    def _prob(self, history: str, c: str, order: int) -> float:
        """P(c | the last order - 1 characters of history)."""
        h_max = history[len(history) - order + 1 :] if order > 1 else ""
        grams = self._grams
        if self.smoothing == "add-k":
            h = h_max
            return (grams[len(h) + 1][h + c] + self.k) / (
                self._context[h] + self.k * self.vocab_size
            )
        p = 1.0 / self.vocab_size
        for m in range(len(h_max) + 1):  # histories of length 0, 1, ..., order - 1
            h = h_max[len(h_max) - m :]
            seen = self._context[h]
            if seen == 0:
                break  # a longer history containing h is unseen too
            u = self._types[h]
            p = (grams[m + 1][h + c] + u * p) / (seen + u)
        return p

    def _check_fitted(self, order: int | None) -> int:
        if self._grams is None:
            raise RuntimeError("this NGramLM is not fitted yet: call fit(ids) first")
        return self.order if order is None else _check_int("order", order, 1, self.order)

    def probs(self, history: Tensor | Sequence[int], order: int | None = None) -> Tensor:
        """The distribution of the next character after ``history``, ``(V,)``, float64.

        Args:
            history: the preceding ids (only the last ``order - 1`` are used).
            order: use the counts up to this order (<= the fitted order); default all.
        """
        order = self._check_fitted(order)
        h = self._text(history)
        return torch.tensor(
            [self._prob(h, chr(c), order) for c in range(self.vocab_size)], dtype=torch.float64
        )

    def log_probs(self, ids: Tensor | Sequence[int], order: int | None = None) -> Tensor:
        """Natural log of :math:`P(c_t \\mid c_{t-n+1} \\dots c_{t-1})` for every t, ``(n,)``.

        The first character is predicted from the empty history, the next ones from what
        precedes them in ``ids``.
        """
        order = self._check_fitted(order)
        s = self._text(ids)
        logs = [math.log(self._prob(s[max(0, t - order + 1) : t], s[t], order))
                for t in range(len(s))]
        return torch.tensor(logs, dtype=torch.float64)

    def bits_per_char(self, ids: Tensor | Sequence[int], order: int | None = None) -> float:
        """Mean bits per character of ``ids`` under the model (see :meth:`log_probs`)."""
        return float(nats_to_bits(-self.log_probs(ids, order).mean()))
