"""Tests of rnnlib.data.cmudict: entries, splits by word, syllable counts."""

from __future__ import annotations

import pytest

from rnnlib.data import cmudict


def test_entries_first_pronunciation_sorted_and_filtered():
    data = cmudict.entries()
    words = [w for w, _ in data]
    assert words == sorted(words)
    assert len(set(words)) == len(words)
    assert all(w.isalpha() and w.isascii() and len(w) >= 2 for w in words)
    d = dict(data)
    assert d["hello"] == ("HH", "AH0", "L", "OW1")  # first of two pronunciations
    assert len(data) > 100_000


def test_entries_length_limits_and_non_alpha():
    short = cmudict.entries(min_len=3, max_len=4)
    assert short and all(3 <= len(w) <= 4 for w, _ in short)
    everything = cmudict.entries(min_len=1, alpha_only=False)
    assert any(not w.isalpha() for w, _ in everything)


@pytest.mark.parametrize("kwargs", [{"min_len": 0}, {"min_len": 3, "max_len": 2}])
def test_entries_bad_lengths(kwargs):
    with pytest.raises(ValueError, match="expected"):
        cmudict.entries(**kwargs)


def test_split_words_no_word_in_two_splits():
    data = cmudict.entries(max_len=4)
    data = data + data[:50]  # repeated words must stay together
    train, valid, test = cmudict.split_words(data, (0.8, 0.1, 0.1), seed=1)
    assert len(train) + len(valid) + len(test) == len(data)
    sets = [{w for w, _ in s} for s in (train, valid, test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    n = len({w for w, _ in data})
    assert abs(len(sets[0]) - 0.8 * n) <= 1
    assert cmudict.split_words(data, seed=1) == (train, valid, test)  # reproducible
    assert cmudict.split_words(data, seed=2)[0] != train


def test_split_words_bad_input():
    with pytest.raises(ValueError, match="fractions"):
        cmudict.split_words([("ab", ("A",))], (0.5, 0.6, 0.1))
    with pytest.raises(ValueError, match="empty"):
        cmudict.split_words([])


def test_syllables():
    d = dict(cmudict.entries())
    assert cmudict.syllables(d["hello"]) == 2
    assert cmudict.syllables(d["cat"]) == 1
    assert cmudict.syllables(d["university"]) == 5
    with pytest.raises(TypeError, match="sequence of phonemes"):
        cmudict.syllables("HH AH0")


def test_g2p_tensors_round_trip():
    from rnnlib.data.batching import Vocabulary

    data = cmudict.entries(max_len=6)[:200]
    letters = Vocabulary(sorted({c for w, _ in data for c in w}))
    phones = Vocabulary(sorted({p for _, ps in data for p in ps}))
    src, lengths, tgt = cmudict.g2p_tensors(data, letters, phones)
    assert src.shape == (200, int(lengths.max())) and tgt.shape[0] == 200
    for i, (word, pron) in enumerate(data):
        assert "".join(letters.decode(src[i])) == word and lengths[i] == len(word)
        assert tuple(phones.decode(tgt[i])) == pron
    with pytest.raises(ValueError, match="unknown symbol"):
        cmudict.g2p_tensors([("zz", ("ZZZ",))], letters, phones)
