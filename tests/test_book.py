"""rnnlib.book.glue: plain values out, clear errors in, and a no-op outside Jupyter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlib import glue


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float64(0.25), 0.25),
        (np.float32(0.5), 0.5),
        (np.int64(7), 7),
        (torch.tensor(3.0), 3.0),
        (torch.tensor([[2]]), 2),
        (np.array(1.5), 1.5),
        (12, 12),
        (True, True),
        ("LSTM", "LSTM"),
    ],
)
def test_returns_a_plain_python_value(value, expected):
    out = glue("key", value)
    assert out == expected
    assert type(out) in (int, float, bool, str)


def test_plain_value_formats_like_the_glue_role_will():
    assert format(glue("acc", np.float64(0.98765)), ".1%") == "98.8%"


@pytest.mark.parametrize("value", [torch.zeros(2), np.zeros((2, 1))])
def test_more_than_one_element_is_refused(value):
    with pytest.raises(ValueError, match="expected a number, got a"):
        glue("losses", value)


@pytest.mark.parametrize("value", [None, [0.1, 0.2], {"a": 1}])
def test_non_numbers_are_refused(value):
    with pytest.raises(TypeError, match="expected a number or a string"):
        glue("key", value)


@pytest.mark.parametrize("name", ["", "has space", "a:b", "x`y", 3])
def test_bad_keys_are_refused(name):
    with pytest.raises(ValueError, match="glue key"):
        glue(name, 1.0)
