import dataclasses
import math

import pytest
import torch
from torch import nn

import rnnlib as rl
from rnnlib.train import progress_enabled


def mse(model, x, y):
    return ((model(x) - y) ** 2).mean()


def linear_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])


def test_fit_learns_a_linear_map_and_records_history():
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    x, y = linear_data()
    h = rl.fit(model, mse, (x, y), valid=(x, y), config=rl.FitConfig(epochs=30, lr=0.05))
    assert len(h.train_loss) == len(h.valid_loss) == 30
    assert h.steps == len(h.step_loss) == len(h.grad_norm) == 30 * 8
    assert h.valid_loss[-1] < 1e-4
    assert rl.evaluate(model, mse, (x, y)) == pytest.approx(h.valid_loss[-1])


def test_a_tiny_seeded_rnn_learns_the_recall_task(device):
    """Smoke test of the whole pipeline: data -> recurrent model -> fit."""
    rl.seed(0)
    g = torch.Generator().manual_seed(0)
    x, y = rl.data.recall_task(512, 12, delay=1, num_symbols=4, generator=g)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(4, 8)
            self.rnn = nn.RNN(8, 32, batch_first=True)
            self.out = nn.Linear(32, 4)

        def forward(self, x):
            return self.out(self.rnn(self.embed(x))[0])

    def loss_fn(model, x, y):
        return nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())

    model = Net().to(device)
    h = rl.fit(model, loss_fn, (x, y), config=rl.FitConfig(epochs=15, batch_size=64, lr=1e-2))
    assert h.train_loss[-1] < 0.2 * h.train_loss[0]


def test_clipping_bounds_the_step_but_records_the_raw_norm():
    model = nn.Linear(1, 1)
    x = torch.full((8, 1), 1000.0)
    cfg = rl.FitConfig(epochs=1, batch_size=8, lr=1.0, optimizer="sgd", clip_norm=1.0)
    before = [p.detach().clone() for p in model.parameters()]
    h = rl.fit(model, mse, (x, torch.zeros(8, 1)), config=cfg)
    assert h.grad_norm[0] > 1e3
    after = model.parameters()
    moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(after, before, strict=True)])
    assert moved.norm().item() == pytest.approx(1.0, rel=1e-5)


def test_stops_at_max_steps_and_max_seconds():
    x, y = linear_data()
    h = rl.fit(nn.Linear(4, 1), mse, (x, y), config=rl.FitConfig(epochs=100, max_steps=5))
    assert h.steps == 5 and h.stopped_because == "max_steps"
    h = rl.fit(nn.Linear(4, 1), mse, (x, y), config=rl.FitConfig(epochs=10**6, max_seconds=0.2))
    assert h.stopped_because == "max_seconds" and h.seconds < 5


def test_early_stopping_restores_the_best_weights():
    torch.manual_seed(0)
    x, y = linear_data(64)
    vx, vy = linear_data(64, seed=1)
    model = nn.Linear(4, 1)
    cfg = rl.FitConfig(epochs=200, lr=0.5, optimizer="sgd", patience=2)  # lr too big: diverges
    h = rl.fit(model, mse, (x, y), valid=(vx, vy), config=cfg)
    assert h.stopped_because == "patience"
    assert rl.evaluate(model, mse, (vx, vy)) == pytest.approx(min(h.valid_loss))


def test_a_loss_that_explodes_is_recorded_not_hidden():
    model = nn.Linear(4, 1)
    x, y = linear_data(32)
    cfg = rl.FitConfig(epochs=40, lr=10.0, optimizer="sgd")
    h = rl.fit(model, mse, (x, y), config=cfg)
    assert not math.isfinite(h.step_loss[-1])


def test_config_is_frozen_and_validated():
    cfg = rl.FitConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0
    for bad in ({"optimizer": "rmsprop"}, {"lr": 0.0}, {"epochs": 0}, {"clip_norm": -1.0}):
        with pytest.raises(ValueError):
            rl.FitConfig(**bad)


def test_bad_data_is_rejected_with_shapes_in_the_message():
    with pytest.raises(ValueError, match=r"\[\(4, 1\), \(5, 1\)\]"):
        rl.fit(nn.Linear(1, 1), mse, (torch.zeros(4, 1), torch.zeros(5, 1)))
    with pytest.raises(TypeError, match="tuple of tensors"):
        rl.fit(nn.Linear(1, 1), mse, torch.zeros(4, 1))
    with pytest.raises(ValueError, match="patience needs validation"):
        rl.fit(nn.Linear(1, 1), mse, (torch.zeros(4, 1),) * 2, config=rl.FitConfig(patience=1))


# --- the progress bar: shown when a person watches, quiet in the book build and CI ----------


class FakeStream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, text):
        return len(text)

    def flush(self):
        pass


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("RNNLIB_PROGRESS", "CI", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_progress_setting_true_or_false_is_obeyed(clean_env):
    clean_env.setenv("CI", "true")
    assert progress_enabled(True) is True
    clean_env.setattr("sys.stderr", FakeStream(tty=True))
    assert progress_enabled(False) is False


def test_progress_is_automatic_by_terminal_ci_and_environment_variable(clean_env):
    clean_env.setattr("sys.stderr", FakeStream(tty=True))
    assert progress_enabled() is True, "a terminal: shown"
    clean_env.setattr("sys.stderr", FakeStream(tty=False))
    assert progress_enabled() is False, "output to a file or pipe: quiet"
    clean_env.setenv("JPY_SESSION_NAME", "/home/me/chapter.ipynb")
    assert progress_enabled() is False, "not in a Jupyter kernel: the variable means nothing"
    clean_env.setattr("sys.stderr", FakeStream(tty=True))
    clean_env.setenv("CI", "true")
    assert progress_enabled() is False, "CI: quiet even in a terminal"
    clean_env.setenv("CI", "false")
    assert progress_enabled() is True
    for value, expected in [("0", False), ("off", False), ("1", True), ("Yes", True)]:
        clean_env.setenv("RNNLIB_PROGRESS", value)
        clean_env.setenv("CI", "true")
        assert progress_enabled() is expected, value


def test_progress_in_a_jupyter_kernel_depends_on_who_started_it(clean_env):
    class Shell:
        config = {"IPKernelApp": {}}
        user_ns = {}

    class FakeIPython:
        @staticmethod
        def get_ipython():
            return Shell()

    clean_env.setitem(__import__("sys").modules, "IPython", FakeIPython)
    clean_env.setattr("sys.stderr", FakeStream(tty=False))
    assert progress_enabled() is False, "a kernel run by nbclient (book build, nbval)"
    clean_env.setenv("JPY_SESSION_NAME", "/home/me/chapter.ipynb")
    assert progress_enabled() is True, "a kernel started by JupyterLab for an open notebook"
    clean_env.setenv("RNNLIB_PROGRESS", "0")
    assert progress_enabled() is False


def test_bad_progress_settings_are_rejected(clean_env):
    with pytest.raises(TypeError, match="None .automatic., True or False"):
        rl.FitConfig(progress="yes")
    clean_env.setenv("RNNLIB_PROGRESS", "maybe")
    with pytest.raises(ValueError, match="RNNLIB_PROGRESS.*'maybe'"):
        progress_enabled()


def test_fit_draws_a_bar_only_when_progress_is_on(clean_env, capsys):
    x, y = linear_data(64)
    rl.fit(nn.Linear(4, 1), mse, (x, y), config=rl.FitConfig(epochs=3, progress=True))
    err = capsys.readouterr().err
    assert "6/6" in err and "step" in err and "epoch 3: train" in err
    rl.fit(nn.Linear(4, 1), mse, (x, y), config=rl.FitConfig(epochs=3, progress=False))
    clean_env.setenv("CI", "1")
    rl.fit(nn.Linear(4, 1), mse, (x, y), config=rl.FitConfig(epochs=3))
    assert capsys.readouterr() == ("", "")


def test_the_bar_counts_the_planned_steps_with_max_steps(clean_env, capsys):
    x, y = linear_data(64)
    rl.fit(nn.Linear(4, 1), mse, (x, y),
           config=rl.FitConfig(epochs=10, max_steps=5, progress=True))
    assert "5/5" in capsys.readouterr().err
