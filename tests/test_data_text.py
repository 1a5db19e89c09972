import pytest
import torch

from rnnlib.data.batching import Vocabulary
from rnnlib.data.text import (
    boundary_labels,
    char_vocabulary,
    contiguous_split,
    delay_targets,
    multi_delay_targets,
    pydoc_text,
    restore_spaces,
    windows,
)


def test_pydoc_text_is_lower_case_words_and_single_spaces():
    text = pydoc_text()
    assert len(text) > 100_000, "the help() topics should give a corpus of real size"
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz ")
    assert "  " not in text and text == text.strip()
    assert text.startswith("the assert statement")


def test_pydoc_text_prose_only_drops_code_lines():
    prose, everything = pydoc_text(), pydoc_text(prose_only=False)
    assert len(everything) > len(prose)
    assert "assert stmt" not in prose and "assert stmt" in everything  # a grammar rule


def test_apostrophes_inside_words_are_removed():
    text = pydoc_text()
    assert " objects " in text and " object s " not in text  # "object's" is one word


def test_boundary_labels_mark_the_last_letter_of_each_word():
    chars, labels = boundary_labels("a bc def")
    assert chars == "abcdef" and labels == [1, 0, 1, 0, 0, 1]


def test_boundary_labels_then_restore_spaces_gives_the_text_back():
    text = pydoc_text()[:5000].rsplit(" ", 1)[0]
    chars, labels = boundary_labels(text)
    assert sum(labels) == len(text.split(" "))
    assert restore_spaces(chars, labels) == text
    assert restore_spaces(chars, torch.tensor(labels)) == text


@pytest.mark.parametrize("text", ["", " a", "a ", "a  b", "a\nb", "a\tb"])
def test_boundary_labels_reject_bad_spacing(text):
    with pytest.raises(ValueError, match="expected"):
        boundary_labels(text)


def test_boundary_labels_reject_what_is_not_a_string():
    with pytest.raises(TypeError, match="str"):
        boundary_labels(["a", "b"])


def test_restore_spaces_rejects_mismatched_lengths_and_bad_labels():
    with pytest.raises(ValueError, match="2 labels for 3 characters"):
        restore_spaces("abc", [0, 1])
    with pytest.raises(ValueError, match="0 or 1, got 2 at index 1"):
        restore_spaces("abc", [0, 2, 1])
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        restore_spaces("ab", torch.zeros(1, 2, dtype=torch.long))


def test_restore_spaces_puts_no_space_at_the_end():
    assert restore_spaces("ab", [1, 1]) == "a b"
    assert restore_spaces("ab", [0, 0]) == "ab"


def test_char_vocabulary_is_sorted_with_padding_first():
    v = char_vocabulary("the cat")
    assert isinstance(v, Vocabulary)
    assert v.symbols == ["<pad>", " ", "a", "c", "e", "h", "t"] and v.pad_id == 0
    assert v.decode(v.encode("hat")) == ["h", "a", "t"]
    with pytest.raises(ValueError, match="unknown symbol 'z'"):
        v.encode("zap")


def test_char_vocabulary_ids_do_not_depend_on_order():
    assert char_vocabulary("abc").encode("cab") == char_vocabulary("cba").encode("cab")


def test_contiguous_split_gives_consecutive_blocks_that_cover_the_sequence():
    x = torch.arange(1000)
    train, valid, test = contiguous_split(x)
    assert (len(train), len(valid), len(test)) == (800, 100, 100)
    assert torch.equal(torch.cat([train, valid, test]), x)
    assert contiguous_split(list(range(5)), (0.4, 0.6)) == ([0, 1], [2, 3, 4])


@pytest.mark.parametrize("fractions", [(0.5, 0.6), (1.0, 0.0), (), (-0.2, 1.2)])
def test_contiguous_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        contiguous_split("abcdefghij", fractions)


def test_contiguous_split_rejects_a_sequence_too_short_for_its_blocks():
    with pytest.raises(ValueError, match="too short"):
        contiguous_split("ab", (0.8, 0.1, 0.1))


def test_windows_are_consecutive_and_drop_the_remainder():
    w = windows(torch.arange(10), 4)
    assert w.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert windows(torch.arange(4), 4).shape == (1, 4)


@pytest.mark.parametrize("x, length", [(torch.zeros(2, 3), 2), (torch.zeros(3), 4),
                                       (torch.zeros(3), 0), ([1, 2, 3], 1)])
def test_windows_reject_bad_input(x, length):
    with pytest.raises(ValueError, match="expected"):
        windows(x, length)


def test_delay_targets_shift_the_labels_and_pad_the_inputs():
    x, y = torch.tensor([[5, 6, 7], [8, 9, 10]]), torch.tensor([[0, 1, 0], [1, 0, 1]])
    xd, yd = delay_targets(x, y, 1, pad_id=0)
    assert xd.tolist() == [[5, 6, 7, 0], [8, 9, 10, 0]]
    assert yd.tolist() == [[-100, 0, 1, 0], [-100, 1, 0, 1]]
    # the output at step t + d is scored on the label of step t: every label exactly once
    assert torch.equal(yd[:, 1:], y)


def test_delay_zero_changes_nothing():
    x, y = torch.arange(6), torch.ones(6, dtype=torch.long)
    xd, yd = delay_targets(x, y, 0)
    assert torch.equal(xd, x) and torch.equal(yd, y)


def test_delay_targets_reject_mismatched_shapes_and_bad_steps():
    with pytest.raises(ValueError, match=r"\(4,\) and \(3,\)"):
        delay_targets(torch.zeros(4), torch.zeros(3), 1)
    with pytest.raises(ValueError, match="steps >= 0"):
        delay_targets(torch.zeros(4), torch.zeros(4), -1)


def test_multi_delay_targets_stack_one_column_per_delay():
    x, y = torch.tensor([[5, 6, 7]]), torch.tensor([[0, 1, 1]])
    xd, yd = multi_delay_targets(x, y, 2)
    assert yd.shape == (1, 5, 3)
    assert torch.equal(xd, delay_targets(x, y, 2)[0])
    for d in range(3):  # column d scores step t on label t - d, every label once
        assert torch.equal(yd[0, d : d + 3, d], y[0])
        assert (yd[0, :, d] != -100).sum() == 3


def test_multi_delay_targets_with_zero_is_the_labels_as_a_column():
    x, y = torch.arange(4), torch.tensor([0, 1, 0, 1])
    xd, yd = multi_delay_targets(x, y, 0)
    assert torch.equal(xd, x) and torch.equal(yd[:, 0], y)


def test_multi_delay_targets_reject_bad_input():
    with pytest.raises(ValueError, match="steps >= 0"):
        multi_delay_targets(torch.zeros(3), torch.zeros(3), -2)
    with pytest.raises(ValueError, match="one shape"):
        multi_delay_targets(torch.zeros(3), torch.zeros(1, 3), 1)
