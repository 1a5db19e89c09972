"""CTC: the collapse map, the forward sum and both decoders against brute-force enumeration."""

import itertools
import math

import pytest
import torch

from rnnlib import ctc


def random_log_probs(t, c, seed, n=None, sharp=1.0):
    g = torch.Generator().manual_seed(seed)
    shape = (t, c) if n is None else (n, t, c)
    return (sharp * torch.randn(shape, generator=g, dtype=torch.float64)).log_softmax(-1)


def brute_force(log_probs, blank=0):
    """Every path of T frames, grouped by its labelling: {labelling: p(labelling | x)}."""
    t, c = log_probs.shape
    probs = log_probs.exp().tolist()
    totals = {}
    for path in itertools.product(range(c), repeat=t):
        p = math.prod(probs[i][k] for i, k in enumerate(path))
        labelling = tuple(ctc.collapse(path, blank))
        totals[labelling] = totals.get(labelling, 0.0) + p
    return totals


def test_collapse_merges_runs_then_drops_blanks():
    assert ctc.collapse([0, 3, 3, 0, 7, 7, 0]) == [3, 7]
    assert ctc.collapse([3, 0, 3]) == [3, 3] and ctc.collapse([3, 3, 3]) == [3]
    assert ctc.collapse(torch.tensor([2, 2, 1, 2]), blank=2) == [1]
    assert ctc.collapse([]) == []


def test_collapse_rejects_bad_inputs():
    with pytest.raises(ValueError, match="1-D integer path"):
        ctc.collapse(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="1-D integer path"):
        ctc.collapse(torch.zeros(3))
    with pytest.raises(ValueError, match="non-negative int"):
        ctc.collapse([1, 2], blank=-1)


@pytest.mark.parametrize("t, c, blank", [(4, 3, 0), (5, 3, 2), (3, 4, 1)])
def test_sequence_log_prob_equals_the_sum_over_paths(t, c, blank):
    lp = random_log_probs(t, c, seed=t + c)
    totals = brute_force(lp, blank)
    assert math.isclose(sum(totals.values()), 1.0, rel_tol=1e-12)  # B partitions the paths
    for labelling, p in totals.items():
        assert math.isclose(ctc.sequence_log_prob(lp, labelling, blank).exp().item(), p,
                            rel_tol=1e-10)
    impossible = [k for k in range(c) if k != blank][:1] * t  # t repeats need 2t - 1 frames
    assert ctc.sequence_log_prob(lp, impossible, blank).item() == -math.inf


def test_sequence_log_prob_matches_torch_ctc_loss_and_its_gradient():
    lp = random_log_probs(12, 6, seed=3).requires_grad_()
    labels = [3, 3, 1, 5]
    ours = -ctc.sequence_log_prob(lp, labels)
    theirs = torch.nn.functional.ctc_loss(lp[:, None], torch.tensor([labels]), [12], [4],
                                          reduction="sum")
    torch.testing.assert_close(ours, theirs)
    g_ours, = torch.autograd.grad(ours, lp)
    g_theirs, = torch.autograd.grad(theirs, lp)
    # torch's CTC gradient is taken with respect to the logits behind a log_softmax; ours is
    # with respect to the log-probabilities. Their relation: g_theirs = g_ours - y * sum(g_ours)
    torch.testing.assert_close(g_theirs, g_ours - lp.exp() * g_ours.sum(-1, keepdim=True))


@pytest.mark.parametrize("t, c, blank, seed", [(4, 3, 0, 0), (5, 3, 0, 1), (4, 4, 3, 2),
                                               (6, 3, 1, 3)])
def test_wide_prefix_beam_search_is_exact(t, c, blank, seed):
    lp = random_log_probs(t, c, seed=seed, sharp=2.0)
    totals = brute_force(lp, blank)
    exact = max(totals, key=totals.get)
    hyps = ctc.beam_hypotheses(lp, beam_width=10_000, blank=blank)
    assert ctc.prefix_beam_search(lp, beam_width=10_000, blank=blank) == list(exact)
    assert len(hyps) == len(totals)  # no pruning: every labelling is in the beam
    for labelling, score in hyps:
        assert math.isclose(math.exp(score), totals[labelling], rel_tol=1e-10)


def test_best_path_is_not_always_the_best_labelling():
    lp = torch.tensor([[0.6, 0.4, 0.0], [0.6, 0.4, 0.0], [0.1, 0.0, 0.9]]).log()
    assert ctc.greedy_decode(lp) == [2]  # the most probable path: blank, blank, 2
    assert ctc.prefix_beam_search(lp, beam_width=4) == [1, 2]  # p = 0.576 > 0.324
    totals = brute_force(lp.double())
    assert max(totals, key=totals.get) == (1, 2)


def test_beam_search_finds_labellings_greedy_misses_on_random_inputs():
    wins = 0
    for seed in range(40):
        lp = random_log_probs(5, 3, seed=seed, sharp=0.5)
        totals = brute_force(lp)
        best = totals[max(totals, key=totals.get)]
        beam = tuple(ctc.prefix_beam_search(lp, beam_width=16))
        greedy = tuple(ctc.greedy_decode(lp))
        assert totals[beam] >= totals.get(greedy, 0.0) - 1e-12
        assert math.isclose(totals[beam], best, rel_tol=1e-9)
        wins += totals[beam] > totals.get(greedy, 0.0) + 1e-12
    assert wins > 0


def test_greedy_decode_collapses_the_argmax_path_in_a_batch_with_lengths():
    lp = random_log_probs(7, 5, seed=4, n=3, sharp=3.0)
    lengths = torch.tensor([7, 4, 0])
    out = ctc.greedy_decode(lp, lengths)
    for row, k, hyp in zip(lp, lengths, out, strict=True):
        assert hyp == ctc.collapse(row[:k].argmax(-1).tolist())
    assert out[2] == []
    beams = ctc.prefix_beam_search(lp, lengths, beam_width=3)
    assert beams[1] == ctc.prefix_beam_search(lp[1, :4], beam_width=3)


def test_decoders_run_on_every_device(device):
    lp = random_log_probs(6, 4, seed=5, n=2).float().to(device)
    assert ctc.greedy_decode(lp) == ctc.greedy_decode(lp.cpu())
    assert ctc.prefix_beam_search(lp) == ctc.prefix_beam_search(lp.cpu())
    torch.testing.assert_close(ctc.sequence_log_prob(lp[0], [1, 2]).cpu(),
                               ctc.sequence_log_prob(lp[0].cpu(), [1, 2]))


def test_bad_inputs_get_clear_errors():
    lp = random_log_probs(5, 4, seed=6, n=2)
    with pytest.raises(ValueError, match=r"\(N, T, C\) or \(T, C\)"):
        ctc.greedy_decode(lp[0, 0])
    with pytest.raises(ValueError, match=r"\(N, T, C\) or \(T, C\)"):
        ctc.greedy_decode(lp.argmax(-1))
    with pytest.raises(ValueError, match="were logits passed"):
        ctc.greedy_decode(lp.exp())
    with pytest.raises(ValueError, match="at least two classes"):
        ctc.greedy_decode(torch.zeros(2, 5, 1))
    with pytest.raises(ValueError, match=r"blank in \[0, 4\)"):
        ctc.prefix_beam_search(lp, blank=4)
    with pytest.raises(ValueError, match=r"lengths of shape \(2,\)"):
        ctc.greedy_decode(lp, torch.tensor([5]))
    with pytest.raises(ValueError, match=r"lengths in \[0, 5\]"):
        ctc.greedy_decode(lp, torch.tensor([5, 6]))
    with pytest.raises(ValueError, match="positive int"):
        ctc.prefix_beam_search(lp, beam_width=0)
    with pytest.raises(ValueError, match=r"one sequence"):
        ctc.beam_hypotheses(lp)
    with pytest.raises(ValueError, match=r"one sequence"):
        ctc.sequence_log_prob(lp, [1])
    with pytest.raises(ValueError, match="other than the blank"):
        ctc.sequence_log_prob(lp[0], [0, 1])
    with pytest.raises(ValueError, match="other than the blank"):
        ctc.sequence_log_prob(lp[0], [4])
