"""rnnlib.checkpoint: atomic saves, safe loads, and resumed training that continues exactly."""
# ruff: noqa: NPY002 (the global NumPy generator is what a checkpoint must save and restore)

import dataclasses
import os
import random

import numpy as np
import pytest
import torch
from torch import nn

import rnnlib as rl
from rnnlib import checkpoint as ckpt


class Net(nn.Module):
    """A GRU with dropout: its training draws from torch's generator at every step."""

    def __init__(self, hidden=8):
        super().__init__()
        self.rnn = nn.GRU(3, hidden, batch_first=True)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(self.drop(self.rnn(x)[1][-1]))


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, 3, generator=g)
    return x, x.sum(dim=(1, 2)).unsqueeze(1)


def mse(model, x, y):
    return ((model(x) - y) ** 2).mean()


def train_steps(model, opt, x, y, steps):
    """A loop that draws from all three global generators: Python, NumPy and torch."""
    for _ in range(steps):
        idx = random.sample(range(len(x)), 16)  # Python's generator picks the batch
        noise = torch.from_numpy(np.random.normal(0, 0.1, (16, 1)).astype(np.float32))
        opt.zero_grad()
        mse(model, x[idx], y[idx] + noise).backward()  # NumPy's noise, torch's dropout
        opt.step()


def test_resumed_training_equals_straight_training_bit_for_bit(tmp_path):
    x, y = data()
    k = 15
    rl.seed(1)
    straight = Net()
    opt = torch.optim.Adam(straight.parameters(), lr=1e-2)
    train_steps(straight, opt, x, y, 2 * k)

    rl.seed(1)
    first = Net()
    opt = torch.optim.Adam(first.parameters(), lr=1e-2)
    train_steps(first, opt, x, y, k)
    ckpt.save_checkpoint(tmp_path / "run.pt", first, opt, step=k, epoch=0)
    rl.seed(123)  # anything may happen in between: other seeds, other draws
    random.random(), np.random.rand(), torch.rand(3)
    resumed = Net()  # fresh objects, other initial weights
    opt = torch.optim.Adam(resumed.parameters(), lr=1e-2)
    info = ckpt.load_checkpoint(tmp_path / "run.pt", resumed, opt)
    assert info.step == k
    train_steps(resumed, opt, x, y, k)

    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), f"{name} differs after resuming"


def test_without_the_generator_states_the_resumed_run_differs(tmp_path):
    x, y = data()
    rl.seed(1)
    straight = Net()
    opt = torch.optim.Adam(straight.parameters(), lr=1e-2)
    train_steps(straight, opt, x, y, 10)
    rl.seed(1)
    first = Net()
    opt = torch.optim.Adam(first.parameters(), lr=1e-2)
    train_steps(first, opt, x, y, 5)
    ckpt.save_checkpoint(tmp_path / "run.pt", first, opt)
    rl.seed(2)
    resumed = Net()
    opt = torch.optim.Adam(resumed.parameters(), lr=1e-2)
    ckpt.load_checkpoint(tmp_path / "run.pt", resumed, opt, restore_rng=False)
    train_steps(resumed, opt, x, y, 5)
    assert not torch.equal(straight.out.weight, resumed.out.weight)


def test_rng_state_round_trip_includes_numpys_cached_gaussian():
    np.random.seed(0)
    np.random.standard_normal()  # leaves a cached second Gaussian: has_gauss = 1
    state = ckpt.rng_state()
    assert state["numpy"]["has_gauss"] == 1
    expected = (random.random(), np.random.standard_normal(), torch.randn(2))
    ckpt.set_rng_state(state)
    got = (random.random(), np.random.standard_normal(), torch.randn(2))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])
    with pytest.raises(ValueError, match="'python', 'numpy', 'torch'"):
        ckpt.set_rng_state({"torch": state["torch"]})


def test_the_file_loads_with_weights_only_and_holds_no_numpy_objects(tmp_path):
    model = nn.Linear(2, 2)
    path = ckpt.save_checkpoint(tmp_path / "a.pt", model, extra={"losses": [1.0, 0.5]})
    raw = torch.load(path, weights_only=True)  # would raise on any non-plain object
    assert raw["format"] == ckpt.FORMAT and raw["extra"] == {"losses": [1.0, 0.5]}
    assert isinstance(raw["rng"]["numpy"]["keys"], torch.Tensor)
    assert raw["rng"]["numpy"]["keys"].shape == (624,)


def test_load_puts_tensors_on_the_models_device(tmp_path, device):
    model = nn.Linear(3, 2).to(device)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3, device=device)).sum().backward()
    opt.step()
    ckpt.save_checkpoint(tmp_path / "d.pt", model, opt)
    fresh = nn.Linear(3, 2).to(device)
    fresh_opt = torch.optim.Adam(fresh.parameters())
    ckpt.load_checkpoint(tmp_path / "d.pt", fresh, fresh_opt)
    assert fresh.weight.device.type == device.type
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_opt.state[fresh.weight]["exp_avg"].device.type == device.type


def test_a_crash_while_saving_leaves_the_old_checkpoint_whole(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    model = nn.Linear(2, 1)
    old = model.weight.detach().clone()
    ckpt.save_checkpoint(path, model, step=1)

    def dies_half_way(obj, f):
        f.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt  # e.g. the user stops the kernel while it saves

    with torch.no_grad():
        model.weight.add_(1.0)
    monkeypatch.setattr(ckpt.torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(path, model, step=2)
    monkeypatch.undo()
    fresh = nn.Linear(2, 1)
    assert ckpt.load_checkpoint(path, fresh).step == 1
    assert torch.equal(fresh.weight, old)
    assert os.listdir(tmp_path) == ["run.pt"], "the temporary file must be removed"


def test_saving_replaces_the_file_and_leaves_no_temporary_files(tmp_path):
    model = nn.Linear(2, 1)
    for step in range(3):
        ckpt.save_checkpoint(tmp_path / "run.pt", model, step=step)
    assert os.listdir(tmp_path) == ["run.pt"]
    assert ckpt.read_checkpoint(tmp_path / "run.pt")["step"] == 2


def test_missing_truncated_and_foreign_files_get_clear_errors(tmp_path):
    model = nn.Linear(2, 1)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        ckpt.load_checkpoint(tmp_path / "nothing.pt", model)
    good = ckpt.save_checkpoint(tmp_path / "good.pt", model)
    blob = good.read_bytes()
    for name, content in [("cut.pt", blob[: len(blob) // 2]), ("empty.pt", b""),
                          ("text.pt", b"not a checkpoint at all\n" * 20)]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="not a readable checkpoint"):
            ckpt.load_checkpoint(tmp_path / name, model)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a checkpoint of save_checkpoint"):
        ckpt.read_checkpoint(tmp_path / "other.pt")
    state = torch.load(good, weights_only=True)
    torch.save({**state, "version": 99}, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="version 99"):
        ckpt.read_checkpoint(tmp_path / "future.pt")


calls = []


class Payload:
    """An object whose unpickling would run code: weights_only must refuse it."""

    def __reduce__(self):
        return (calls.append, ("code ran",))


def test_a_file_with_code_in_it_is_refused_without_running_the_code(tmp_path):
    model = nn.Linear(2, 1)
    state = torch.load(ckpt.save_checkpoint(tmp_path / "a.pt", model), weights_only=True)
    torch.save({**state, "extra": {"evil": Payload()}}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="weights_only=True refuses"):
        ckpt.load_checkpoint(tmp_path / "evil.pt", model)
    assert calls == []


def test_a_model_of_another_shape_is_refused_and_left_unchanged(tmp_path):
    ckpt.save_checkpoint(tmp_path / "small.pt", nn.GRU(3, 8))
    bigger = nn.GRU(3, 16)
    before = {k: v.clone() for k, v in bigger.state_dict().items()}
    with pytest.raises(ValueError, match=r"weight_ih_l0 has shape \(24, 3\) in the checkpoint "
                                         r"and \(48, 3\) in the model"):
        ckpt.load_checkpoint(tmp_path / "small.pt", bigger)
    for k, v in bigger.state_dict().items():
        assert torch.equal(v, before[k])
    with pytest.raises(ValueError, match="missing in the checkpoint"):
        ckpt.load_checkpoint(tmp_path / "small.pt", nn.GRU(3, 8, num_layers=2))


def test_optimizer_state_must_be_there_and_fit(tmp_path):
    model = nn.Linear(2, 1)
    ckpt.save_checkpoint(tmp_path / "no_opt.pt", model)
    with pytest.raises(ValueError, match="holds no optimiser state"):
        ckpt.load_checkpoint(tmp_path / "no_opt.pt", model, torch.optim.SGD(model.parameters()))
    ckpt.save_checkpoint(tmp_path / "opt.pt", model, torch.optim.SGD(model.parameters()))
    other = torch.optim.SGD([model.weight], lr=0.1)  # one parameter instead of two
    with pytest.raises(ValueError, match="another optimiser"):
        ckpt.load_checkpoint(tmp_path / "opt.pt", model, other)


def test_bad_arguments_to_save(tmp_path):
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="extra\\['a'\\]\\[1\\].*ndarray"):
        ckpt.save_checkpoint(tmp_path / "x.pt", model, extra={"a": [1, np.zeros(2)]})
    with pytest.raises(TypeError, match="torch.nn.Module"):
        ckpt.save_checkpoint(tmp_path / "x.pt", {"w": torch.zeros(1)})
    with pytest.raises(TypeError, match="Optimizer"):
        ckpt.save_checkpoint(tmp_path / "x.pt", model, optimizer="adam")
    with pytest.raises(ValueError, match="step to be a non-negative int"):
        ckpt.save_checkpoint(tmp_path / "x.pt", model, step=-1)
    with pytest.raises(ValueError, match="epoch to be a non-negative int"):
        ckpt.save_checkpoint(tmp_path / "x.pt", model, epoch=1.5)
    with pytest.raises(FileNotFoundError, match="no directory"):
        ckpt.save_checkpoint(tmp_path / "missing" / "x.pt", model)
    assert os.listdir(tmp_path) == []


# --- fit(checkpoint=..., resume=True) --------------------------------------------------------


def fit_once(tmp_path, epochs, resume=False, path="fit.pt", **changes):
    x, y = data(48)
    vx, vy = data(16, seed=1)
    cfg = rl.FitConfig(epochs=epochs, batch_size=16, lr=1e-2, patience=5, **changes)
    torch.manual_seed(7 if not resume else 99)  # a resumed model starts from other weights
    model = Net()
    h = rl.fit(model, mse, (x, y), valid=(vx, vy), config=cfg, checkpoint=tmp_path / path,
               resume=resume)
    return model, h


def test_fit_resumes_exactly_where_it_stopped(tmp_path):
    straight, h_straight = fit_once(tmp_path, 6, path="straight.pt")
    fit_once(tmp_path, 3)
    resumed, h_resumed = fit_once(tmp_path, 6, resume=True)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    a, b = dataclasses.asdict(h_straight), dataclasses.asdict(h_resumed)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert h_resumed.steps == 6 * 3 and len(h_resumed.valid_loss) == 6


def test_fit_resume_refuses_other_settings_or_data(tmp_path):
    fit_once(tmp_path, 2)
    path = tmp_path / "fit.pt"
    cfg = rl.FitConfig(epochs=4, batch_size=16, lr=1e-2, patience=5)
    with pytest.raises(ValueError, match="lr: 0.01 saved, 0.1 now"):
        rl.fit(Net(), mse, data(48), valid=data(16, 1), checkpoint=path, resume=True,
               config=dataclasses.replace(cfg, lr=0.1))
    with pytest.raises(ValueError, match="48 training samples, got 32"):
        rl.fit(Net(), mse, data(32), valid=data(16, 1), checkpoint=path, resume=True, config=cfg)
    with pytest.raises(ValueError, match="resume=True needs the checkpoint"):
        rl.fit(Net(), mse, data(48), resume=True)
    ckpt.save_checkpoint(tmp_path / "plain.pt", Net())
    with pytest.raises(ValueError, match="not one written by fit"):
        rl.fit(Net(), mse, data(48), checkpoint=tmp_path / "plain.pt", resume=True)
    with pytest.raises(FileNotFoundError):
        rl.fit(Net(), mse, data(48), checkpoint=tmp_path / "none.pt", resume=True)


def test_fit_resume_with_more_steps_allowed(tmp_path):
    x, y = data(48)
    cfg = rl.FitConfig(epochs=10, batch_size=16, max_steps=4)
    h = rl.fit(Net(), mse, (x, y), config=cfg, checkpoint=tmp_path / "s.pt")
    assert h.steps == 4 and h.stopped_because == "max_steps"
    h = rl.fit(Net(), mse, (x, y), config=dataclasses.replace(cfg, max_steps=4),
               checkpoint=tmp_path / "s.pt", resume=True)
    assert h.steps == 4 and h.stopped_because == "max_steps", "nothing left to do"
    h = rl.fit(Net(), mse, (x, y), config=dataclasses.replace(cfg, max_steps=9),
               checkpoint=tmp_path / "s.pt", resume=True)
    assert h.steps == 9 and len(h.step_loss) == 9
