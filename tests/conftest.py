"""Fixtures shared by the library tests."""

from __future__ import annotations

import pytest
import torch


def _devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


@pytest.fixture(params=_devices())
def device(request) -> torch.device:
    """Every device present: CPU always, CUDA and MPS where the machine has them."""
    return torch.device(request.param)
