import pytest
import torch

from rnnlib.data import ADDING_BASELINE_MSE, adding_problem, recall_task


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_adding_problem_has_one_marker_in_each_half():
    x, y = adding_problem(200, 30, generator=gen())
    markers = x[..., 1]
    assert torch.equal(markers.sum(1), torch.full((200,), 2.0))
    assert torch.equal(markers[:, :15].sum(1), torch.ones(200))
    assert ((x[..., 0] >= 0) & (x[..., 0] < 1)).all()
    torch.testing.assert_close(y, (x[..., 0] * markers).sum(1, keepdim=True))


def test_adding_baseline_is_the_mse_of_answering_one():
    _, y = adding_problem(200_000, 10, generator=gen())
    mse = ((y - 1.0) ** 2).mean().item()
    assert mse == pytest.approx(ADDING_BASELINE_MSE, rel=0.02)


def test_adding_problem_is_reproducible_and_respects_dtype():
    a = adding_problem(8, 12, generator=gen(3), dtype=torch.float64)
    b = adding_problem(8, 12, generator=gen(3), dtype=torch.float64)
    assert a[0].dtype == torch.float64 and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize(
    "kwargs, error",
    [({"n": 0, "length": 5}, ValueError), ({"n": 2, "length": 1}, ValueError),
     ({"n": 2.0, "length": 5}, TypeError)],
)
def test_adding_problem_rejects_bad_sizes(kwargs, error):
    with pytest.raises(error):
        adding_problem(**kwargs)


def test_recall_targets_are_the_symbols_delay_steps_back():
    x, y = recall_task(50, 20, delay=3, num_symbols=5, generator=gen())
    assert x.dtype == torch.int64 and x.shape == y.shape == (50, 20)
    assert (y[:, :3] == -100).all()
    assert torch.equal(y[:, 3:], x[:, :-3])
    assert x.min() >= 0 and x.max() < 5


def test_recall_current_symbol_carries_no_information_about_the_target():
    x, y = recall_task(4000, 10, delay=2, num_symbols=4, generator=gen(1))
    agree = (x[:, 2:] == y[:, 2:]).float().mean().item()
    assert agree == pytest.approx(1 / 4, abs=0.02)


def test_recall_rejects_a_delay_as_long_as_the_sequence():
    with pytest.raises(ValueError, match="length > delay"):
        recall_task(2, 3, delay=3)
