"""Tests of rnnlib.seq2seq: padding respected everywhere, decoders, greedy and beam search."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import rnnlib as rl
from rnnlib import seq2seq as s2s
from rnnlib.data.batching import pad_sequences

SRC_V, TGT_V, H = 9, 7, 8


def _batch():
    src, lengths = pad_sequences([[3, 4, 5, 6], [7, 3], [8, 8, 4]])
    tgt, _ = pad_sequences([[1, 3, 4, 5, 2], [1, 6, 2], [1, 4, 4, 2]])
    return src, lengths, tgt


def _model(use="init", context="last", seed=0, **kw):
    torch.manual_seed(seed)
    return s2s.Seq2Seq(SRC_V, TGT_V, H, 5, use=use, context=context, **kw).eval()


def _with_junk_padding(x, lengths, extra=3):
    # Longer padding filled with real-looking ids: a model that respects lengths must not see it.
    n, length = x.shape
    junk = torch.randint(3, SRC_V, (n, length + extra), generator=torch.Generator().manual_seed(1))
    mask = torch.arange(length + extra)[None] < lengths[:, None]
    junk[:, :length][mask[:, :length]] = x[mask[:, :length]]
    return junk


def test_encoder_respects_lengths_and_context_never_from_padding(device):
    src, lengths, _ = _batch()
    enc = _model().encoder.to(device)
    out, last = enc(src.to(device), lengths.to(device))
    out2, last2 = enc(_with_junk_padding(src, lengths).to(device), lengths.to(device))
    torch.testing.assert_close(last, last2)
    torch.testing.assert_close(out, out2)
    for i, n in enumerate(lengths.tolist()):  # c = h_T at each word's own last letter
        torch.testing.assert_close(last[i], out[i, n - 1])
        assert bool((out[i, n:] == 0).all())
    # An encoder that ignored the lengths would read the padding: the last state would change.
    unpacked, _ = enc.rnn(enc.embed(src.to(device)))
    assert not torch.allclose(unpacked[1, -1], last[1])


@pytest.mark.parametrize("context", s2s.CONTEXTS)
@pytest.mark.parametrize("use", s2s.USES)
def test_every_model_ignores_source_padding(use, context):
    src, lengths, tgt = _batch()
    model = _model(use, context)
    a = model(src, lengths, tgt[:, :-1])
    b = model(_with_junk_padding(src, lengths), lengths, tgt[:, :-1])
    torch.testing.assert_close(a, b)


def test_context_kinds():
    out, last = torch.randn(2, 3, H), torch.randn(2, H)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    ctx = s2s.Context(H, "mean")
    expected = torch.tanh(ctx.transform(torch.stack([out[0, :2].mean(0), out[1, 0]])))
    torch.testing.assert_close(ctx(out, last, mask), expected)
    lin = s2s.Context(H, "linear")
    torch.testing.assert_close(lin(out, last, mask), torch.tanh(lin.transform(last)))
    with pytest.raises(ValueError, match="context kind"):
        s2s.Context(H, "first")


def test_decoder_uses_context_as_init_or_input():
    src, lengths, tgt = _batch()
    init, inp = _model("init"), _model("input")
    assert init.decoder.rnn.input_size == 5 and inp.decoder.rnn.input_size == 5 + H
    state = inp.encode(src, lengths)
    assert bool((state["h"] == 0).all()) and not bool((state["c"] == 0).all())
    state = init.encode(src, lengths)
    assert torch.equal(state["h"], state["c"])


def test_attention_gives_padding_zero_weight():
    src, lengths, tgt = _batch()
    model = _model("attention")
    ids, alpha = s2s.greedy_decode(model, src, lengths, max_len=4, return_attention=True)
    assert alpha.shape == (3, ids.shape[1], int(lengths.max()))
    mask = torch.arange(alpha.shape[-1])[None] < lengths[:, None]
    assert bool((alpha.masked_select(~mask[:, None, :].expand_as(alpha)) == 0).all())
    torch.testing.assert_close(alpha.sum(-1), torch.ones(alpha.shape[:2]))


def test_loss_ignores_padded_targets():
    src, lengths, tgt = _batch()
    model = _model("attention")
    loss = model.loss(src, lengths, tgt)
    padded = torch.cat([tgt, torch.zeros(3, 4, dtype=torch.long)], 1)  # more padding
    torch.testing.assert_close(model.loss(src, lengths, padded), loss)
    # The loss is the mean over real target symbols only.
    logits = model(src, lengths, tgt[:, :-1])
    targets = tgt[:, 1:]
    nll = -torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    real = targets != 0
    torch.testing.assert_close(loss, nll[real].mean())
    # The bug the loss avoids: averaging over padded positions too gives another number.
    buggy = nn.functional.cross_entropy(logits.reshape(-1, TGT_V), targets.reshape(-1))
    assert not torch.allclose(buggy, loss)
    with pytest.raises(ValueError, match="only padding"):
        s2s.sequence_loss(logits, torch.zeros_like(targets))
    with pytest.raises(ValueError, match="expected logits"):
        s2s.sequence_loss(logits, targets[:, :2])


def test_training_lowers_the_loss_with_fit():
    src, lengths, tgt = _batch()
    model = _model("attention").train()
    h = rl.fit(
        model,
        lambda m, *b: m.loss(*b),
        (src, lengths, tgt),
        config=rl.FitConfig(epochs=60, batch_size=3, lr=1e-2),
    )
    assert h.train_loss[-1] < 0.1 * h.train_loss[0]
    out = s2s.greedy_decode(model.eval(), src, lengths, max_len=6)
    for i, row in enumerate(tgt.tolist()):  # memorised: greedy reproduces each target
        n = sum(t != 0 for t in row)
        assert out[i, : n - 1].tolist() == row[1:n]


@pytest.mark.parametrize("use", s2s.USES)
def test_beam_of_one_is_greedy(use):
    src, lengths, _ = _batch()
    model = _model(use, seed=3)
    greedy = s2s.greedy_decode(model, src, lengths, max_len=6)
    beam = s2s.beam_search(model, src, lengths, beam_size=1, max_len=6)
    assert torch.equal(greedy, beam[:, : greedy.shape[1]])


def test_wide_beam_finds_the_most_probable_sequence():
    # With a beam as wide as the number of sequences, beam search is exhaustive: compare with
    # brute-force enumeration of every output of at most max_len symbols.
    torch.manual_seed(0)
    model = s2s.Seq2Seq(SRC_V, 4, H, 5, use="attention").eval()  # symbols: pad, <s>, </s>, a
    with torch.no_grad():
        model.decoder.out.bias.copy_(torch.tensor([0.0, 0.0, 0.5, 0.3]))
    src, lengths, _ = _batch()
    max_len = 4
    beam = s2s.beam_search(model, src, lengths, beam_size=64, max_len=max_len)
    for i in range(3):
        x, n = src[i : i + 1], lengths[i : i + 1]
        candidates = []
        for m in range(max_len + 1):
            for body in itertools.product([1, 3], repeat=m):  # <s> can be emitted too
                seq = list(body) + [2] if m < max_len else list(body)
                seq = seq[:max_len]
                candidates.append(seq + [0] * (max_len - len(seq)))
        ys = torch.tensor(candidates)
        logp = s2s.sequence_log_prob(model, x.expand(len(ys), -1), n.expand(len(ys)), ys)
        best = ys[logp.argmax()]
        found = beam[i].tolist() + [0] * (max_len - beam.shape[1])
        assert found == best.tolist()


def test_rnnlib_gru_is_a_drop_in_layer():
    src, lengths, tgt = _batch()
    a = _model("attention", seed=5)
    b = _model("attention", seed=5, rnn=rl.GRU)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(
        a(src, lengths, tgt[:, :-1]),
        b(src, lengths, tgt[:, :-1]),
        **rl.tolerance(torch.device("cpu"), torch.float32),
    )


def test_encoder_and_decoder_share_no_parameter():
    model = _model("attention")
    enc = {p.data_ptr() for p in model.encoder.parameters()}
    dec = {p.data_ptr() for p in model.decoder.parameters()}
    assert enc and dec and not enc & dec


def test_bad_input_errors():
    src, lengths, tgt = _batch()
    model = _model()
    with pytest.raises(ValueError, match="lengths of shape"):
        model(src, lengths[:2], tgt)
    with pytest.raises(ValueError, match=r"lengths in \[1, 4\]"):
        model(src, torch.tensor([5, 1, 1]), tgt)
    with pytest.raises(ValueError, match="torch.long"):
        model(src.float(), lengths, tgt)
    with pytest.raises(ValueError, match=r"src ids in \[0, 9\)"):
        model(src + 20, lengths, tgt)
    with pytest.raises(ValueError, match="tgt_in for 3 sequences"):
        model(src, lengths, tgt[:2])
    with pytest.raises(ValueError, match="use in"):
        s2s.Seq2Seq(3, 3, use="both")
    with pytest.raises(ValueError, match="beam_size"):
        s2s.beam_search(model, src, lengths, beam_size=0)
    with pytest.raises(ValueError, match="attention decoder"):
        s2s.greedy_decode(model, src, lengths, return_attention=True)
