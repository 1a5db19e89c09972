"""Tests of rnnlib.metrics: edit distance, PER, WER."""

from __future__ import annotations

import itertools
import random

import pytest

from rnnlib.metrics import edit_distance, phoneme_error_rate, token_error_rate, word_error_rate


def _brute_force(a, b):
    # Recursive definition, memoised: the textbook recurrence written independently.
    import functools

    @functools.cache
    def d(i, j):
        if i == 0 or j == 0:
            return i + j
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

    return d(len(a), len(b))


def test_edit_distance_known_values():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("abc", "") == 3
    assert edit_distance("abc", "abc") == 0
    assert edit_distance(["AH0", "B"], ["B"]) == 1


def test_edit_distance_matches_recurrence_and_is_a_metric():
    rng = random.Random(0)
    words = ["".join(rng.choice("abc") for _ in range(rng.randint(0, 6))) for _ in range(25)]
    for a, b in itertools.product(words[:12], repeat=2):
        d = edit_distance(a, b)
        assert d == _brute_force(a, b) == edit_distance(b, a)
        assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    for a, b, c in itertools.product(words[:6], repeat=3):
        assert edit_distance(a, c) <= edit_distance(a, b) + edit_distance(b, c)


def test_error_rates():
    refs = [("K", "AE1", "T"), ("D", "AO1", "G")]
    hyps = [("K", "AE1", "T"), ("D", "AA1", "G", "Z")]
    assert phoneme_error_rate(refs, hyps) == pytest.approx(2 / 6)
    assert token_error_rate(refs, hyps) == phoneme_error_rate(refs, hyps)
    assert word_error_rate(refs, hyps) == 0.5
    assert phoneme_error_rate(refs, refs) == word_error_rate(refs, refs) == 0.0


def test_error_rate_bad_input():
    with pytest.raises(ValueError, match="as many hypotheses as references"):
        phoneme_error_rate([("A",)], [])
    with pytest.raises(ValueError, match="at least one reference"):
        word_error_rate([], [])
    with pytest.raises(ValueError, match="at least one token"):
        token_error_rate([()], [("A",)])
    with pytest.raises(TypeError, match="ordered"):
        edit_distance({"a"}, "a")
