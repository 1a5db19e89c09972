import dataclasses
import math

import pytest
import torch
from torch import nn

import rnnlib as rl


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
