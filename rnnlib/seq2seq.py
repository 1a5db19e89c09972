"""The encoder–decoder (sequence-to-sequence) model, its decoders, and how to decode with it.

An :class:`Encoder` reads a padded batch of source sequences and returns every state
:math:`h_1, \\dots, h_{T_n}` of each sequence and its last real state :math:`h_{T_n}`.
A :class:`Context` turns them into the context vector :math:`c` in one of three ways
(source 000, §4.5): the last state itself, a transform of it, or a transform of all states.
A :class:`Decoder` generates the target from :math:`c` in one of three ways: :math:`c` as its
initial state (``"init"``), :math:`c` as an extra input at every step (``"input"``), or
:math:`c` as its initial state plus attention over all encoder states (``"attention"``).
:class:`Seq2Seq` holds the three parts.

Padding is respected everywhere: the encoder packs each batch with its lengths, so no state
comes from a padding position; attention gives padding positions weight zero; and
:func:`sequence_loss` ignores padded targets. Decoding is :func:`greedy_decode` or
:func:`beam_search`.

Sequences are batch first: sources ``(N, L)`` of ids with lengths ``(N,)``; targets ``(N, T)``
framed as ``<s> y_1 ... y_m </s>`` and padded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlib.data.batching import lengths_to_mask

__all__ = [
    "CONTEXTS",
    "USES",
    "Context",
    "Decoder",
    "Encoder",
    "Seq2Seq",
    "beam_search",
    "greedy_decode",
    "sequence_log_prob",
    "sequence_loss",
]

CONTEXTS = ("last", "linear", "mean")
USES = ("init", "input", "attention")
State = dict[str, Tensor]


def _check_ids(name: str, ids: Tensor, vocab_size: int | None = None) -> None:
    if not isinstance(ids, Tensor) or ids.dim() != 2 or ids.dtype != torch.long:
        got = f"{tuple(ids.shape)} {ids.dtype}" if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"expected {name} to be a (N, L) torch.long tensor of ids, got {got}")
    if ids.shape[1] == 0:
        raise ValueError(f"expected {name} to hold at least one step, got shape {tuple(ids.shape)}")
    if vocab_size is not None and ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"expected {name} ids in [0, {vocab_size}), got ids from {int(ids.min())} "
            f"to {int(ids.max())}"
        )


def _check_lengths(lengths: Tensor, n: int, length: int) -> None:
    if not isinstance(lengths, Tensor) or lengths.shape != (n,):
        got = tuple(lengths.shape) if isinstance(lengths, Tensor) else type(lengths).__name__
        raise ValueError(f"expected lengths of shape ({n},), one per sequence, got {got}")
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > length):
        raise ValueError(f"expected lengths in [1, {length}], got {lengths.tolist()}")


class Encoder(nn.Module):
    """Embedding and a recurrent layer over the real (unpadded) part of each source sequence.

    Args:
        vocab_size: number of source symbols, padding included.
        embed_dim: size of the symbol embeddings.
        hidden_size: :math:`H_{\\text{out}}`, size of the states.
        pad_id: id of the padding symbol (its embedding is zero and never trained).
        rnn: the recurrent layer class, ``torch.nn.GRU`` by default; ``rnnlib.GRU``,
            ``torch.nn.LSTM``-like classes returning ``(output, h_n)`` work too.

    Shape:
        - src: ``(N, L)`` ids, lengths ``(N,)``.
        - outputs: ``(N, L', H)`` with ``L' = max(lengths)``, zero at padding positions.
        - last: ``(N, H)``, the state at each sequence's own last position.

    Example:
        >>> enc = Encoder(5, 4, 3)
        >>> out, last = enc(torch.tensor([[3, 4, 0], [4, 0, 0]]), torch.tensor([2, 1]))
        >>> out.shape, last.shape
        (torch.Size([2, 2, 3]), torch.Size([2, 3]))
        >>> torch.equal(last[1], out[1, 0]), bool((out[1, 1] == 0).all())
        (True, True)
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        *,
        pad_id: int = 0,
        rnn: type[nn.Module] = nn.GRU,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.rnn = rnn(embed_dim, hidden_size, batch_first=True)

    def forward(self, src: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        _check_ids("src", src, self.embed.num_embeddings)
        _check_lengths(lengths, src.shape[0], src.shape[1])
        longest = int(lengths.max())
        x = self.embed(src[:, :longest])
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, h_n = self.rnn(packed)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        outputs, _ = pad_packed_sequence(output, batch_first=True, total_length=longest)
        return outputs, h_n[-1]


class Context(nn.Module):
    """The context vector :math:`c` from the encoder's states (source 000, §4.5).

    - ``"last"``: :math:`c = h_{T}`, the last real state;
    - ``"linear"``: :math:`c = \\tanh(W_c h_{T} + b_c)`, a transform of it;
    - ``"mean"``: :math:`c = \\tanh(W_c \\frac{1}{T}\\sum_{t \\le T} h_t + b_c)`, a transform
      of all states (the mean over the real positions only).

    Shape:
        outputs ``(N, L, H)``, last ``(N, H)``, mask ``(N, L)`` bool → ``c``: ``(N, H)``.

    Example:
        >>> out, last = torch.randn(2, 3, 4), torch.randn(2, 4)
        >>> mask = torch.tensor([[True, True, False], [True, False, False]])
        >>> torch.equal(Context(4, "last")(out, last, mask), last)
        True
    """

    def __init__(self, hidden_size: int, kind: str = "last") -> None:
        super().__init__()
        if kind not in CONTEXTS:
            raise ValueError(f"expected context kind in {CONTEXTS}, got {kind!r}")
        self.kind = kind
        self.transform = nn.Linear(hidden_size, hidden_size) if kind != "last" else None

    def forward(self, outputs: Tensor, last: Tensor, mask: Tensor) -> Tensor:
        if self.kind == "last":
            return last
        if self.kind == "linear":
            summary = last
        else:
            weights = mask.to(outputs.dtype).unsqueeze(-1)  # (N, L, 1)
            summary = (outputs * weights).sum(1) / weights.sum(1)
        return torch.tanh(self.transform(summary))


class Decoder(nn.Module):
    """A recurrent decoder that uses the context in one of three ways.

    - ``"init"``: :math:`S_0 = c`; input at step t: the embedding of :math:`y_{t-1}`.
    - ``"input"``: :math:`S_0 = 0`; input at step t: :math:`[e(y_{t-1}); c]`.
    - ``"attention"``: :math:`S_0 = c`; after each step, scores
      :math:`e_{tj} = S_t^\\top W_a h_j` over the encoder states (padding masked to
      :math:`-\\infty`), weights :math:`\\alpha_{tj} = \\mathrm{softmax}_j(e_{tj})`, a context
      :math:`a_t = \\sum_j \\alpha_{tj} h_j`, and the output reads
      :math:`\\tilde S_t = \\tanh(W_o [S_t; a_t] + b_o)` (Luong et al. 2015).

    Args:
        vocab_size: number of target symbols, specials included.
        embed_dim: size of the target embeddings.
        hidden_size: :math:`H_{\\text{out}}`, equal to the encoder's.
        use: ``"init"``, ``"input"`` or ``"attention"``.
        pad_id: id of the padding symbol.
        rnn: the recurrent layer class (``torch.nn.GRU`` by default).

    The decoder state is a dict of tensors, batch first: ``"h"`` (N, H) the recurrent state,
    ``"c"`` (N, H) the context, ``"memory"`` (N, L, H) the encoder states, ``"mask"`` (N, L).

    Shape:
        tgt_in ``(N, T)`` ids → logits ``(N, T, V)``; attention ``(N, T, L)`` or ``None``.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        *,
        use: str = "init",
        pad_id: int = 0,
        rnn: type[nn.Module] = nn.GRU,
    ) -> None:
        super().__init__()
        if use not in USES:
            raise ValueError(f"expected use in {USES}, got {use!r}")
        self.use = use
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        extra = hidden_size if use == "input" else 0
        self.rnn = rnn(embed_dim + extra, hidden_size, batch_first=True)
        if use == "attention":
            self.score = nn.Linear(hidden_size, hidden_size, bias=False)  # W_a
            self.combine = nn.Linear(2 * hidden_size, hidden_size)  # W_o, b_o
        self.out = nn.Linear(hidden_size, vocab_size)

    def initial_hidden(self, c: Tensor) -> Tensor:
        """:math:`S_0`: the context, or zeros when the context is an input instead."""
        return torch.zeros_like(c) if self.use == "input" else c

    def forward(self, tgt_in: Tensor, state: State) -> tuple[Tensor, State, Tensor | None]:
        _check_ids("tgt_in", tgt_in, self.embed.num_embeddings)
        if tgt_in.shape[0] != state["h"].shape[0]:
            raise ValueError(
                f"expected tgt_in for {state['h'].shape[0]} sequences, got {tgt_in.shape[0]}"
            )
        x = self.embed(tgt_in)  # (N, T, E)
        if self.use == "input":
            x = torch.cat([x, state["c"].unsqueeze(1).expand(-1, x.shape[1], -1)], dim=-1)
        s, h_n = self.rnn(x, state["h"].unsqueeze(0).contiguous())
        alpha = None
        if self.use == "attention":
            memory, mask = state["memory"], state["mask"]
            scores = self.score(s) @ memory.transpose(1, 2)  # (N, T, L)
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
            alpha = torch.softmax(scores, dim=-1)
            a = alpha @ memory  # (N, T, H)
            s = torch.tanh(self.combine(torch.cat([s, a], dim=-1)))
        return self.out(s), {**state, "h": h_n[-1]}, alpha


class Seq2Seq(nn.Module):
    """Encoder, context and decoder: :math:`P(y_1 \\dots y_m \\mid x_1 \\dots x_n)`.

    Args:
        src_vocab: number of source symbols (padding included).
        tgt_vocab: number of target symbols (padding, ``<s>``, ``</s>`` included).
        hidden_size: :math:`H_{\\text{out}}` of encoder and decoder.
        embed_dim: size of the source and target embeddings.
        context: ``"last"``, ``"linear"`` or ``"mean"`` (see :class:`Context`).
        use: ``"init"``, ``"input"`` or ``"attention"`` (see :class:`Decoder`).
        pad_id, bos_id, eos_id: ids of the special symbols (as in
            :class:`rnnlib.data.batching.Vocabulary`).
        rnn: recurrent layer class of encoder and decoder (``torch.nn.GRU`` by default).

    Encoder and decoder share no parameter: they have their own embeddings (letters and
    phonemes are different vocabularies) and their own recurrent weights.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model = Seq2Seq(6, 7, hidden_size=8, embed_dim=4, use="attention")
        >>> src, lengths = torch.tensor([[3, 4, 5], [5, 3, 0]]), torch.tensor([3, 2])
        >>> tgt = torch.tensor([[1, 3, 4, 2], [1, 5, 2, 0]])
        >>> model(src, lengths, tgt[:, :-1]).shape
        torch.Size([2, 3, 7])
        >>> greedy_decode(model, src, lengths, max_len=5).shape[0]
        2
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        hidden_size: int = 128,
        embed_dim: int = 64,
        *,
        context: str = "last",
        use: str = "init",
        pad_id: int = 0,
        bos_id: int = 1,
        eos_id: int = 2,
        rnn: type[nn.Module] = nn.GRU,
    ) -> None:
        super().__init__()
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.encoder = Encoder(src_vocab, embed_dim, hidden_size, pad_id=pad_id, rnn=rnn)
        self.context = Context(hidden_size, context)
        self.decoder = Decoder(tgt_vocab, embed_dim, hidden_size, use=use, pad_id=pad_id, rnn=rnn)

    def encode(self, src: Tensor, lengths: Tensor) -> State:
        """The decoder's initial state for a batch of sources."""
        memory, last = self.encoder(src, lengths)
        mask = lengths_to_mask(lengths.to(memory.device), memory.shape[1])
        c = self.context(memory, last, mask)
        return {"h": self.decoder.initial_hidden(c), "c": c, "memory": memory, "mask": mask}

    def forward(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """Logits ``(N, T, V)`` for every step of ``tgt_in`` (teacher forcing)."""
        logits, _, _ = self.decoder(tgt_in, self.encode(src, lengths))
        return logits

    def loss(self, src: Tensor, lengths: Tensor, tgt: Tensor) -> Tensor:
        """Teacher-forced cross-entropy per real target symbol; ``tgt`` is ``<s> y </s>``
        padded, trimmed here to the batch's longest target."""
        _check_ids("tgt", tgt, None)
        real = (tgt != self.pad_id).sum(1)
        tgt = tgt[:, : int(real.max())]
        return sequence_loss(self(src, lengths, tgt[:, :-1]), tgt[:, 1:], self.pad_id)


def sequence_loss(logits: Tensor, targets: Tensor, pad_id: int = 0) -> Tensor:
    """Mean cross-entropy over the real (non-padding) target positions.

    Padded positions contribute nothing, neither to the sum nor to the count, so a batch's loss
    does not depend on how much padding it carries.

    Shape:
        logits ``(N, T, V)``, targets ``(N, T)`` → scalar.

    Example:
        >>> logits = torch.zeros(1, 3, 4)
        >>> float(sequence_loss(logits, torch.tensor([[1, 2, 0]])))  # log 4, padding ignored
        1.386...
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"expected logits (N, T, V) and targets (N, T), got {tuple(logits.shape)} and "
            f"{tuple(targets.shape)}"
        )
    if not bool((targets != pad_id).any()):
        raise ValueError("expected at least one non-padding target, got only padding")
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id
    )


@torch.no_grad()
def sequence_log_prob(model: Seq2Seq, src: Tensor, lengths: Tensor, out: Tensor) -> Tensor:
    """:math:`\\log P(y \\mid x)` of output sequences (as :func:`greedy_decode` returns them:
    ``y_1 ... </s>`` padded), summed over the real steps up to and including ``</s>``.

    Shape:
        out ``(N, T)`` → ``(N,)``.
    """
    bos = torch.full_like(out[:, :1], model.bos_id)
    logp = torch.log_softmax(model(src, lengths, torch.cat([bos, out[:, :-1]], 1)), -1)
    picked = logp.gather(-1, out.unsqueeze(-1)).squeeze(-1)
    return (picked * (out != model.pad_id)).sum(1)


def _finish(tokens: Tensor, finished: Tensor, model: Seq2Seq) -> tuple[Tensor, Tensor]:
    tokens = tokens.masked_fill(finished, model.pad_id)
    return tokens, finished | (tokens == model.eos_id)


@torch.no_grad()
def greedy_decode(
    model: Seq2Seq,
    src: Tensor,
    lengths: Tensor,
    max_len: int = 30,
    *,
    return_attention: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Decode by taking the most probable symbol at every step, fed back as the next input.

    Args:
        model: a :class:`Seq2Seq`.
        src, lengths: the padded sources and their lengths.
        max_len: most symbols generated (``</s>`` included).
        return_attention: also return the attention weights (attention decoders only).

    Returns:
        ids ``(N, T)`` with ``T <= max_len``: ``y_1 ... y_m </s>`` then padding (no ``</s>``
        if ``max_len`` was reached first); with ``return_attention``, also ``(N, T, L)``.
    """
    if max_len < 1:
        raise ValueError(f"expected max_len >= 1, got {max_len}")
    if return_attention and model.decoder.use != "attention":
        raise ValueError(
            f"return_attention needs an attention decoder, got use={model.decoder.use!r}"
        )
    state = model.encode(src, lengths)
    n = src.shape[0]
    tokens = torch.full((n,), model.bos_id, dtype=torch.long, device=src.device)
    finished = torch.zeros(n, dtype=torch.bool, device=src.device)
    outputs, alphas = [], []
    for _ in range(max_len):
        logits, state, alpha = model.decoder(tokens.unsqueeze(1), state)
        tokens, finished = _finish(logits[:, -1].argmax(-1), finished, model)
        outputs.append(tokens)
        if alpha is not None:
            alphas.append(alpha[:, -1])
        if bool(finished.all()):
            break
    ids = torch.stack(outputs, 1)
    return (ids, torch.stack(alphas, 1)) if return_attention else ids


@torch.no_grad()
def beam_search(
    model: Seq2Seq, src: Tensor, lengths: Tensor, beam_size: int = 4, max_len: int = 30
) -> Tensor:
    """Decode by keeping the ``beam_size`` most probable prefixes at every step.

    All sources are searched at once: the batch holds ``N * beam_size`` hypotheses. A
    hypothesis that has produced ``</s>`` is finished; it keeps its score and competes with
    the others until the end. The result is, per source, the hypothesis of highest
    :math:`\\log P(y \\mid x)` (no length normalisation). ``beam_size=1`` is greedy decoding.

    Returns:
        ids ``(N, T)``, in the format of :func:`greedy_decode`.
    """
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"expected beam_size to be an int >= 1, got {beam_size!r}")
    if max_len < 1:
        raise ValueError(f"expected max_len >= 1, got {max_len}")
    k = beam_size
    state = {key: v.repeat_interleave(k, 0) for key, v in model.encode(src, lengths).items()}
    n, device = src.shape[0], src.device
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    tokens = torch.full((n * k,), model.bos_id, dtype=torch.long, device=device)
    finished = torch.zeros(n * k, dtype=torch.bool, device=device)
    history = torch.empty(n * k, 0, dtype=torch.long, device=device)
    rows = torch.arange(n, device=device).unsqueeze(1) * k
    for _ in range(max_len):
        logits, state, _ = model.decoder(tokens.unsqueeze(1), state)
        logp = torch.log_softmax(logits[:, -1].float(), -1)  # (N*k, V)
        vocab = logp.shape[-1]
        logp[finished] = float("-inf")
        logp[finished, model.pad_id] = 0.0  # a finished hypothesis only pads, at no cost
        candidates = (scores.reshape(-1, 1) + logp).reshape(n, k * vocab)
        scores, index = candidates.topk(k, dim=-1)
        parent = (rows + torch.div(index, vocab, rounding_mode="floor")).reshape(-1)
        tokens = (index % vocab).reshape(-1)
        state = {key: v[parent] for key, v in state.items()}
        history = torch.cat([history[parent], tokens.unsqueeze(1)], 1)
        finished = finished[parent] | (tokens == model.eos_id)
        if bool(finished.all()):
            break
    best = scores.argmax(-1)
    return history.reshape(n, k, -1)[torch.arange(n, device=device), best]
