"""Tests for rnnlib.diagrams: the code-drawn graphs draw, label what they claim, reject nonsense."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlib import diagrams  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_default_draws_and_returns_axes_with_sources_notation():
    ax = diagrams.unrolled_rnn()
    assert isinstance(ax, matplotlib.axes.Axes)
    texts = _texts(ax)
    for label in ["$U$", "$W$", "$V$", "$x_{t}$", "$S_{t-1}$", "$S_{t}$", "$S_{t+1}$",
                  "$O_{t+1}$", "unfold"]:
        assert label in texts, f"missing {label!r} in {texts}"


def test_each_step_has_its_own_nodes_but_the_same_weight_labels():
    ax = diagrams.unrolled_rnn(steps=5, folded=False, time="absolute")
    texts = _texts(ax)
    for t in range(1, 6):
        for node in (f"$x_{{{t}}}$", f"$S_{{{t}}}$", f"$O_{{{t}}}$"):
            assert texts.count(node) == 1, node
    assert texts.count("$U$") == 5
    assert texts.count("$V$") == 5
    assert texts.count("$W$") == 5  # four between steps and one from S_0
    assert "$S_{0}$" in texts
    assert "unfold" not in texts


def test_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    assert diagrams.unrolled_rnn(steps=2, ax=ax) is ax
    assert ax.figure is fig


def test_losses_add_a_loss_and_a_target_per_output():
    ax = diagrams.unrolled_rnn(steps=3, losses=True, time="absolute", folded=False)
    texts = _texts(ax)
    assert [f"$L_{{{t}}}$" in texts for t in (1, 2, 3)] == [True] * 3
    assert [f"$y_{{{t}}}$" in texts for t in (1, 2, 3)] == [True] * 3


def test_backward_direction_uses_primed_symbols_and_starts_from_the_right():
    ax = diagrams.unrolled_rnn(steps=3, direction="backward", time="absolute")
    texts = _texts(ax)
    assert "$S'_{1}$" in texts and "$W'$" in texts and "$S'_{4}$" in texts
    assert "$W$" not in texts


def test_bidirectional_draws_both_chains():
    ax = diagrams.unrolled_rnn(steps=3, direction="bidirectional", folded=False)
    texts = _texts(ax)
    for label in ["$S_{t}$", "$S'_{t}$", "$U$", "$U'$", "$V$", "$V'$", "$W$", "$W'$"]:
        assert label in texts, label


def test_many_to_one_and_one_to_many_draw_one_output_or_one_input():
    texts = _texts(diagrams.unrolled_rnn(steps=4, outputs="last", time="absolute"))
    assert [f"$O_{{{t}}}$" in texts for t in (1, 2, 3, 4)] == [False, False, False, True]
    texts = _texts(diagrams.unrolled_rnn(steps=4, inputs="first", time="absolute"))
    assert [f"$x_{{{t}}}$" in texts for t in (1, 2, 3, 4)] == [True, False, False, False]


def test_state_symbol_can_be_pytorchs_h():
    texts = _texts(diagrams.unrolled_rnn(steps=2, state="h", time="absolute"))
    assert "$h_{1}$" in texts and "$S_{1}$" not in texts


@pytest.mark.parametrize("steps", [0, -1, 13])
def test_steps_out_of_range_is_rejected(steps):
    with pytest.raises(ValueError, match="steps"):
        diagrams.unrolled_rnn(steps=steps)


@pytest.mark.parametrize("steps", [2.0, "3", True])
def test_steps_that_are_not_int_are_rejected(steps):
    with pytest.raises(TypeError, match="steps"):
        diagrams.unrolled_rnn(steps=steps)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"direction": "sideways"}, "direction"), ({"inputs": "some"}, "inputs"),
     ({"outputs": "first"}, "outputs"), ({"time": "t"}, "time"), ({"state": ""}, "state"),
     ({"losses": True, "outputs": "none"}, "losses")],
)
def test_bad_options_are_rejected_with_the_option_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        diagrams.unrolled_rnn(**kwargs)
