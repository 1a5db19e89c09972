"""Tests of rnnlib.data.batching: vocabulary, padding, masks."""

from __future__ import annotations

import pytest
import torch

from rnnlib.data.batching import Vocabulary, lengths_to_mask, pad_sequences


def test_vocabulary_round_trip_and_specials():
    v = Vocabulary(sorted("hello"))
    assert (v.pad_id, v.bos_id, v.eos_id) == (0, 1, 2)
    assert len(v) == 3 + 4
    ids = v.encode("hello", bos=True, eos=True)
    assert ids[0] == v.bos_id and ids[-1] == v.eos_id
    assert "".join(v.decode(ids + [v.pad_id] * 3)) == "hello"
    assert v.decode(ids, strip=False)[0] == "<s>"
    assert "".join(v.decode(torch.tensor(ids + [5, 5]))) == "hello"  # stops at </s>
    assert "h" in v and "z" not in v


def test_vocabulary_errors_name_the_symbol():
    v = Vocabulary("ab")
    with pytest.raises(ValueError, match="unknown symbol 'z'"):
        v.encode("az")
    with pytest.raises(ValueError, match="unknown id 9"):
        v.decode([9])
    with pytest.raises(ValueError, match="at least one ordinary symbol"):
        Vocabulary("")
    with pytest.raises(AttributeError, match="no end-of-sequence"):
        _ = Vocabulary("ab", specials=("<pad>",)).eos_id


def test_pad_sequences_and_mask():
    x, n = pad_sequences([[3, 4], [5], [6, 7, 8]], pad_id=0)
    assert x.shape == (3, 3) and x.dtype == torch.long
    assert n.tolist() == [2, 1, 3]
    mask = lengths_to_mask(n)
    assert mask.tolist() == [[True, True, False], [True, False, False], [True, True, True]]
    assert bool((x[~mask] == 0).all())
    x, _ = pad_sequences([[3]], max_len=4, pad_id=9)
    assert x.tolist() == [[3, 9, 9, 9]]
    assert lengths_to_mask([1, 2], max_len=4).shape == (2, 4)


def test_padding_errors():
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_sequences([])
    with pytest.raises(ValueError, match="non-empty sequences.*index 1"):
        pad_sequences([[1], []])
    with pytest.raises(ValueError, match="max_len=2"):
        pad_sequences([[1, 2, 3]], max_len=2)
    with pytest.raises(ValueError, match="lengths in"):
        lengths_to_mask([0, 2])
    with pytest.raises(ValueError, match="shape"):
        lengths_to_mask(torch.ones(2, 2, dtype=torch.long))
