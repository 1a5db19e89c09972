import matplotlib
import pytest

import rnnlib as rl

matplotlib.use("Agg")


def test_loss_curves_draws_histories_and_lists():
    h = rl.History(train_loss=[3.0, 2.0], valid_loss=[2.5, 1.5, 1.0])
    ax = rl.plot.loss_curves({"model": h, "list": [1.0, 0.5]}, logy=True, title="t")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["model"].get_ydata()) == [2.5, 1.5, 1.0]  # validation preferred
    assert ax.get_yscale() == "log" and ax.get_title() == "t"


@pytest.mark.parametrize("bad", [{}, [1.0, 2.0], {"a": "text"}, {"a": []}])
def test_loss_curves_rejects_what_is_not_curves(bad):
    with pytest.raises(TypeError):
        rl.plot.loss_curves(bad)


def test_short_curves_get_distinct_markers_so_overlaps_stay_visible():
    ax = rl.plot.loss_curves({"a": [1.0, 1.0], "b": [1.0, 1.0]})
    assert [line.get_marker() for line in ax.get_lines()] == ["o", "s"]
    ax = rl.plot.loss_curves({"a": [1.0] * 100}, markers=None)
    assert ax.get_lines()[0].get_marker() in ("None", None, "")
