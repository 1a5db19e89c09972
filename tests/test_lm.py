import math

import pytest
import torch
from torch import nn

import rnnlib as rl
from rnnlib.lm import (
    CharLM,
    NGramLM,
    bits_per_char,
    detach_state,
    evaluate_bpc,
    nats_to_bits,
    next_probs,
    sample,
    stream_batches,
)

# ---------------------------------------------------------------- stream batches


def test_stream_batches_match_a_plain_loop():
    ids = torch.arange(100)
    x, y = stream_batches(ids, num_streams=3, length=5)
    batches, m = 99 // 15, (99 // 15) * 5
    assert x.shape == y.shape == (batches, 3, 5)
    for b in range(batches):
        for i in range(3):
            for j in range(5):
                assert x[b, i, j] == ids[i * m + b * 5 + j]
                assert y[b, i, j] == ids[i * m + b * 5 + j + 1]


def test_each_row_continues_the_same_row_of_the_batch_before():
    ids = torch.randint(0, 50, (1000,), generator=torch.Generator().manual_seed(0))
    x, y = stream_batches(ids, num_streams=4, length=7)
    for i in range(4):
        stream = x[:, i].reshape(-1)  # row i of every batch, in order
        start = i * len(stream)
        assert torch.equal(stream, ids[start : start + len(stream)])
        assert torch.equal(y[:, i].reshape(-1), ids[start + 1 : start + len(stream) + 1])


def test_stream_batches_use_the_last_id_as_a_target_only():
    x, y = stream_batches(torch.arange(7), num_streams=2, length=3)
    assert x.flatten().max() == 5 and y.flatten().max() == 6


@pytest.mark.parametrize(
    ("ids", "n", "length", "match"),
    [
        (torch.arange(6), 2, 3, "too short"),
        (torch.arange(10.0), 2, 2, "torch.long"),
        (torch.arange(12).reshape(3, 4), 1, 2, r"\(n,\)"),
        ([1, 2, 3], 1, 1, "torch.long"),
        (torch.arange(20), 0, 2, "num_streams"),
        (torch.arange(20), 2, 0, "length"),
        (torch.arange(20), 2, 2.0, "length"),
        (torch.arange(20), True, 2, "num_streams"),
    ],
)
def test_stream_batches_reject_bad_input(ids, n, length, match):
    with pytest.raises(ValueError, match=match):
        stream_batches(ids, n, length)


# ---------------------------------------------------------------- bits per character


def test_bits_per_char_is_the_mean_negative_log2_probability():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
    targets = torch.randint(0, 6, (3, 4), generator=g)
    p = logits.exp() / logits.exp().sum(-1, keepdim=True)
    expected = -torch.log2(p.gather(-1, targets[..., None])).mean()
    torch.testing.assert_close(bits_per_char(logits, targets), expected)


def test_uniform_logits_cost_log2_v_bits_and_ignored_targets_do_not_count():
    targets = torch.tensor([[1, -100, 2]])
    assert bits_per_char(torch.zeros(1, 3, 16), targets).item() == pytest.approx(4.0)
    logits = torch.zeros(1, 3, 4)
    logits[0, 1, 0] = 50.0  # the ignored position would cost a lot
    assert bits_per_char(logits, targets).item() == pytest.approx(2.0)


def test_nats_to_bits():
    assert nats_to_bits(math.log(8)) == pytest.approx(3.0)
    torch.testing.assert_close(nats_to_bits(torch.tensor([math.log(2.0)])), torch.tensor([1.0]))


@pytest.mark.parametrize(
    ("logits", "targets"),
    [
        (torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long)),
        (torch.zeros(2, 3, 5), torch.zeros(2, 3)),
        (torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long)),
    ],
)
def test_bits_per_char_rejects_mismatched_shapes_and_float_targets(logits, targets):
    with pytest.raises(ValueError, match="expected logits"):
        bits_per_char(logits, targets)


def test_bits_per_char_rejects_non_tensors():
    with pytest.raises(TypeError, match="tensors"):
        bits_per_char([[0.0, 1.0]], torch.tensor([0]))


# ---------------------------------------------------------------- state and model


def test_detach_state_cuts_tensors_and_tuples():
    h = torch.ones(2, requires_grad=True) * 2
    assert detach_state(None) is None
    assert not detach_state(h).requires_grad
    hc = detach_state((h, h + 1))
    assert isinstance(hc, tuple) and not any(t.requires_grad for t in hc)
    torch.testing.assert_close(hc[1], torch.full((2,), 3.0))


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_char_lm_in_two_chunks_with_carried_state_equals_one_run(kind, device):
    torch.manual_seed(0)
    model = CharLM(11, 5, getattr(rl, kind)(5, 7, batch_first=True)).to(device).double()
    x = torch.randint(0, 11, (3, 12), device=device)
    whole, h_whole = model(x)
    first, h = model(x[:, :5])
    second, h = model(x[:, 5:], detach_state(h))
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    torch.testing.assert_close(h, h_whole)
    assert whole.shape == (3, 12, 11)


def test_char_lm_rejects_layers_it_cannot_use():
    with pytest.raises(ValueError, match="batch-first"):
        CharLM(10, 4, nn.GRU(4, 8))
    with pytest.raises(ValueError, match="input_size=4"):
        CharLM(10, 4, nn.GRU(3, 8, batch_first=True))
    with pytest.raises(ValueError, match="unidirectional"):
        CharLM(10, 4, nn.GRU(4, 8, batch_first=True, bidirectional=True))
    with pytest.raises(ValueError, match="vocab_size"):
        CharLM(0, 4, nn.GRU(4, 8, batch_first=True))
    model = CharLM(10, 4, nn.GRU(4, 8, batch_first=True))
    with pytest.raises(ValueError, match=r"\(N, L\)"):
        model(torch.zeros(5, dtype=torch.long))


def test_evaluate_bpc_equals_one_pass_over_each_whole_stream(device):
    torch.manual_seed(0)
    model = CharLM(9, 4, nn.LSTM(4, 6, batch_first=True)).to(device).double()
    ids = torch.randint(0, 9, (203,))
    got = evaluate_bpc(model, ids, num_streams=4, length=10)
    x, y = stream_batches(ids, 4, 10)  # (B, N, L)
    streams_x = x.transpose(0, 1).reshape(4, -1).to(device)  # (N, B * L), read in one go
    streams_y = y.transpose(0, 1).reshape(4, -1).to(device)
    with torch.no_grad():
        expected = bits_per_char(model(streams_x)[0], streams_y).item()
    assert got == pytest.approx(expected, rel=1e-10)
    assert model.training, "evaluate_bpc should restore training mode"


# ---------------------------------------------------------------- sampling


def test_next_probs_is_the_tempered_softmax_over_the_top_k():
    logits = torch.tensor([[1.0, 3.0, -2.0, 2.5, 0.0]])
    for temperature in (0.5, 1.0, 2.0):
        for k in (1, 2, 4, 5, None):
            keep = sorted(range(5), key=lambda c: -logits[0, c].item())[: k or 5]
            weights = [math.exp(logits[0, c].item() / temperature) if c in keep else 0.0
                       for c in range(5)]
            expected = torch.tensor([[w / sum(weights) for w in weights]])
            torch.testing.assert_close(next_probs(logits, temperature, k), expected)


def test_temperature_limits_are_greedy_and_uniform():
    logits = torch.tensor([0.3, 2.0, -1.0, 1.9])
    torch.testing.assert_close(next_probs(logits, 1e-4), torch.tensor([0.0, 1.0, 0.0, 0.0]))
    torch.testing.assert_close(next_probs(logits, 1e6), torch.full((4,), 0.25))


def test_top_k_keeps_ties_at_the_kth_logit():
    torch.testing.assert_close(
        next_probs(torch.tensor([1.0, 2.0, 2.0, 0.0]), top_k=1), torch.tensor([0.0, 0.5, 0.5, 0.0])
    )


@pytest.mark.parametrize("temperature", [0, -1.0, math.inf, math.nan, True, "1"])
def test_next_probs_rejects_temperatures_that_are_not_positive(temperature):
    with pytest.raises(ValueError, match="temperature > 0"):
        next_probs(torch.zeros(4), temperature)


@pytest.mark.parametrize("top_k", [0, 5, -1, 2.0])
def test_next_probs_rejects_k_out_of_range(top_k):
    with pytest.raises(ValueError, match=r"top_k to be an int in \[1, 4\]"):
        next_probs(torch.zeros(4), top_k=top_k)


def test_next_probs_rejects_bad_logits():
    with pytest.raises(ValueError, match=r"\(V,\) or \(N, V\)"):
        next_probs(torch.zeros(2, 3, 4))


class FixedLM(nn.Module):
    """Ignores its input: the same logits at every step (for testing the sampler)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(logits)

    def forward(self, input, hx=None):
        return self.logits.expand(*input.shape, -1), hx


def test_samples_follow_next_probs():
    logits = torch.tensor([0.0, 1.0, 2.0, -1.0, 0.5])
    model = FixedLM(logits)
    n = 3000
    for temperature, k in [(1.0, None), (0.7, 3)]:
        draws = sample(model, [0], n, temperature=temperature, top_k=k,
                       generator=torch.Generator().manual_seed(3))
        freq = torch.bincount(draws, minlength=5).double() / n
        p = next_probs(logits, temperature, k).double()
        assert torch.all(freq[p == 0] == 0), "drew a character outside the top k"
        # each frequency within 5 standard errors of its probability
        assert torch.all((freq - p).abs() <= 5 * (p * (1 - p) / n).sqrt() + 1e-12)


def test_sample_is_reproducible_with_a_seeded_generator_and_greedy_with_top_1(device):
    torch.manual_seed(0)
    model = CharLM(7, 3, rl.GRU(3, 5, batch_first=True)).to(device)
    def draw(seed, **kw):
        return sample(model, [1, 2], 30, generator=torch.Generator().manual_seed(seed), **kw)
    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))
    greedy, x = [], torch.tensor([[1, 2]], device=device)
    with torch.no_grad():
        logits, h = model(x)
        for _ in range(30):
            greedy.append(int(logits[0, -1].argmax()))
            logits, h = model(torch.tensor([[greedy[-1]]], device=device), h)
    assert draw(5, top_k=1).tolist() == greedy
    assert draw(5, top_k=1).device.type == "cpu"


def test_sample_rejects_bad_input():
    model = FixedLM(torch.zeros(4))
    with pytest.raises(ValueError, match="at least one id"):
        sample(model, [], 5)
    with pytest.raises(ValueError, match="length"):
        sample(model, [0], 0)
    with pytest.raises(ValueError, match=r"prompt .*\(n,\)"):
        sample(model, torch.zeros(1, 2, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="temperature"):
        sample(model, [0], 5, temperature=0.0)
    with pytest.raises(ValueError, match="top_k"):
        sample(model, [0], 5, top_k=5)
    with pytest.raises(ValueError, match="num_samples"):
        sample(model, [0], 5, num_samples=0)


def test_num_samples_draws_rows_that_follow_next_probs_each():
    logits = torch.tensor([0.0, 2.0, 1.0])
    draws = sample(FixedLM(logits), [0], 400, num_samples=10,
                   generator=torch.Generator().manual_seed(0))
    assert draws.shape == (10, 400)
    assert not torch.equal(draws[0], draws[1]), "rows should be drawn independently"
    freq = torch.bincount(draws.flatten(), minlength=3).double() / draws.numel()
    p = next_probs(logits).double()
    assert torch.all((freq - p).abs() <= 5 * (p * (1 - p) / draws.numel()).sqrt())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sample_rejects_a_cuda_generator():
    with pytest.raises(ValueError, match="CPU generator"):
        sample(FixedLM(torch.zeros(4)), [0], 3, generator=torch.Generator(device="cuda"))


# ---------------------------------------------------------------- n-grams


def counts(text, gram):
    """Occurrences of the tuple ``gram`` in the list ``text``, counted plainly."""
    n = len(gram)
    return sum(tuple(text[i : i + n]) == gram for i in range(len(text) - n + 1))


def witten_bell(text, history, c, vocab_size):
    """Interpolated Witten-Bell written from its definition, for checking NGramLM."""
    p = 1.0 / vocab_size
    for m in range(len(history) + 1):
        h = tuple(history[len(history) - m :])
        followers = [text[i + m] for i in range(len(text) - m) if tuple(text[i : i + m]) == h]
        if not followers:
            break
        u = len(set(followers))
        p = (counts(text, h + (c,)) + u * p) / (len(followers) + u)
    return p


TEXT = [0, 1, 2, 0, 1, 1, 0, 1, 2, 2, 0, 3, 1, 0, 1, 2]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_witten_bell_matches_its_definition(order):
    lm = NGramLM(order, vocab_size=5).fit(torch.tensor(TEXT))
    for history in ([], [0], [1, 0], [2, 2, 0], [4, 4, 1], [3, 1, 0]):
        used = history[len(history) - order + 1 :] if order > 1 else []
        expected = [witten_bell(TEXT, used, c, 5) for c in range(5)]
        torch.testing.assert_close(lm.probs(history), torch.tensor(expected, dtype=torch.float64))


def test_add_k_matches_its_definition():
    lm = NGramLM(2, vocab_size=5, smoothing="add-k", k=0.5).fit(torch.tensor(TEXT))
    after_0 = [counts(TEXT, (0, c)) for c in range(5)]
    expected = torch.tensor([(a + 0.5) / (sum(after_0) + 2.5) for a in after_0],
                            dtype=torch.float64)
    torch.testing.assert_close(lm.probs([2, 0]), expected)
    unigram = torch.tensor([(TEXT.count(c) + 0.5) / (len(TEXT) + 2.5) for c in range(5)],
                           dtype=torch.float64)
    torch.testing.assert_close(lm.probs([2, 0], order=1), unigram)
    torch.testing.assert_close(lm.probs([]), unigram)  # the start of a text: no history yet


@pytest.mark.parametrize("smoothing", ["witten-bell", "add-k"])
def test_every_distribution_sums_to_one(smoothing):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 6, (300,), generator=g)
    lm = NGramLM(4, vocab_size=8, smoothing=smoothing, k=0.1).fit(ids)
    for t in range(0, 300, 17):
        for order in (1, 2, 4):
            p = lm.probs(ids[max(0, t - 3) : t], order=order)
            assert torch.all(p > 0) and p.sum().item() == pytest.approx(1.0)


def test_log_probs_score_each_character_after_its_history():
    ids = torch.tensor(TEXT)
    lm = NGramLM(3, vocab_size=5).fit(ids)
    held_out = torch.tensor([1, 0, 4, 1, 2])
    expected = [math.log(lm.probs(held_out[max(0, t - 2) : t])[held_out[t]].item())
                for t in range(5)]
    torch.testing.assert_close(lm.log_probs(held_out), torch.tensor(expected, dtype=torch.float64))
    assert lm.bits_per_char(held_out) == pytest.approx(-sum(expected) / 5 / math.log(2))


def test_the_doctest_bigram_by_hand():
    # text 0 1 0 1 0 2, V = 3: C(0) = 3 with followers {1, 2} (u = 2); C(1) = 2, followers {0}
    uni = {0: (3 + 3 / 3) / (6 + 3), 1: (2 + 3 / 3) / (6 + 3)}  # u("") = 3 characters seen
    p01 = (2 + 2 * uni[1]) / (3 + 2)  # P(1 | 0)
    p10 = (2 + 1 * uni[0]) / (2 + 1)  # P(0 | 1)
    expected = -(math.log2(uni[0]) + 2 * math.log2(p01) + math.log2(p10)) / 4
    lm = NGramLM(2, vocab_size=3).fit(torch.tensor([0, 1, 0, 1, 0, 2]))
    assert lm.bits_per_char(torch.tensor([0, 1, 0, 1])) == pytest.approx(expected)


def test_higher_orders_fit_a_repetitive_text_better():
    ids = torch.tensor([0, 1, 2, 3] * 50)
    lm = NGramLM(3, vocab_size=4).fit(ids)
    bpc = [lm.bits_per_char(ids, order=n) for n in (1, 2, 3)]
    assert bpc[0] == pytest.approx(2.0, abs=0.01) and bpc[1] < 0.1 and bpc[2] < bpc[1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": 0, "vocab_size": 3}, "order"),
        ({"order": 2, "vocab_size": 0}, "vocab_size"),
        ({"order": 2.0, "vocab_size": 3}, "order"),
        ({"order": 2, "vocab_size": 3, "smoothing": "kneser-ney"}, "smoothing"),
        ({"order": 2, "vocab_size": 3, "smoothing": "add-k", "k": 0}, "k > 0"),
    ],
)
def test_ngram_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NGramLM(**kwargs)


def test_ngram_rejects_bad_ids_and_use_before_fit():
    lm = NGramLM(2, vocab_size=3)
    with pytest.raises(RuntimeError, match="fit"):
        lm.bits_per_char(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"ids in \[0, 3\), got ids in \[0, 3\]"):
        lm.fit(torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="at least one"):
        lm.fit(torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(n,\)"):
        lm.fit(torch.zeros(2, 2, dtype=torch.long))
    lm.fit(torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"order to be an int in \[1, 2\]"):
        lm.probs([0], order=3)
    with pytest.raises(ValueError, match="ids in"):
        lm.log_probs(torch.tensor([-1, 0]))
