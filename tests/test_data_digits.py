import pytest
import torch

from rnnlib.data import digits


def test_load_scales_grey_levels_to_unit_interval():
    images, labels = digits.load()
    assert images.shape == (1797, 8, 8) and images.dtype == torch.float32
    assert images.min() == 0 and images.max() == 1
    assert labels.dtype == torch.int64 and set(labels.tolist()) == set(range(10))


def test_splits_are_disjoint_stratified_and_reproducible():
    train, valid, test = digits.splits((0.6, 0.2, 0.2), seed=0)
    assert len(train) + len(valid) + len(test) == 1797
    images = torch.cat([train.images, valid.images, test.images]).reshape(1797, -1)
    assert len({tuple(row.tolist()) for row in images}) >= 1797 - 20  # a few duplicate scans
    for part in (train, valid, test):
        share = torch.bincount(part.labels, minlength=10).float() / len(part)
        assert share.min() > 0.08 and share.max() < 0.12
    again = digits.splits((0.6, 0.2, 0.2), seed=0)
    assert torch.equal(again[2].images, test.images)
    assert not torch.equal(digits.splits(seed=1)[2].labels, test.labels)


def test_splits_reject_bad_fractions():
    with pytest.raises(ValueError, match="three positive fractions"):
        digits.splits((0.5, 0.5))
    with pytest.raises(ValueError, match="summing to 1"):
        digits.splits((0.6, 0.3, 0.3))


def test_as_rows_makes_row_t_the_input_of_step_t():
    images = torch.arange(2 * 8 * 8.0).reshape(2, 8, 8)
    rows = digits.as_rows(images)
    assert torch.equal(rows[1, 3], images[1, 3])
    with pytest.raises(ValueError, match=r"\(N, height, width\)"):
        digits.as_rows(torch.zeros(8, 8))


def test_words_round_trip_with_end_token_and_padding():
    ids = digits.encode_words(torch.arange(10))
    assert ids.shape == (10, digits.WORD_STEPS)
    assert digits.decode_words(ids) == list(digits.WORDS)
    assert (ids[:, -1] == 0).all()  # every word is ended
    assert digits.decode_words(torch.tensor([[1, 6, 0, 5]])) == ["en"]  # cut at the first end


def test_word_codec_rejects_bad_input():
    with pytest.raises(ValueError, match=r"labels in 0\.\.9"):
        digits.encode_words(torch.tensor([10]))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        digits.encode_words(torch.tensor([], dtype=torch.int64))
    with pytest.raises(ValueError, match="token ids in"):
        digits.decode_words(torch.tensor([[99]]))
    with pytest.raises(ValueError, match=r"\(N, steps\)"):
        digits.decode_words(torch.tensor([1, 2]))
