import sys

import numpy as np
import pytest
import torch

import rnnlib as rl


def test_auto_prefers_an_available_device(monkeypatch):
    monkeypatch.delenv("RNNLIB_DEVICE", raising=False)
    chosen = rl.device()
    if torch.cuda.is_available():
        assert chosen.type == "cuda"
    else:
        assert chosen.type in ("mps", "cpu")


def test_cuda_and_mps_fall_back_to_cpu_when_absent(monkeypatch):
    monkeypatch.delenv("RNNLIB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # the module is shadowed by the function of the same name in the package namespace
    monkeypatch.setattr(sys.modules["rnnlib.device"], "_mps_available", lambda: False)
    assert rl.device() == torch.device("cpu")


def test_environment_variable_overrides_the_choice(monkeypatch):
    monkeypatch.setenv("RNNLIB_DEVICE", "cpu")
    assert rl.device() == torch.device("cpu")
    assert rl.device("auto") == torch.device("cpu")


def test_argument_beats_environment(monkeypatch):
    monkeypatch.setenv("RNNLIB_DEVICE", "nonsense")
    assert rl.device("cpu") == torch.device("cpu")


def test_unknown_device_names_are_rejected_with_the_source(monkeypatch):
    monkeypatch.setenv("RNNLIB_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="RNNLIB_DEVICE.*'gpu0'"):
        rl.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_missing_cuda_is_an_error():
    with pytest.raises(ValueError, match="no CUDA"):
        rl.device("cuda")


def test_seed_makes_python_numpy_and_torch_repeat():
    import random

    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002

    rl.seed(123)
    first = draw()
    rl.seed(123)
    assert draw() == first
    rl.seed(124)
    assert draw() != first


@pytest.mark.parametrize("bad, error", [(1.5, TypeError), (True, TypeError), (-1, ValueError)])
def test_seed_rejects_bad_values(bad, error):
    with pytest.raises(error):
        rl.seed(bad)
