"""rnnlib.compare: the documented tolerances, and that they separate rounding from real errors."""

from __future__ import annotations

import pytest
import torch

import rnnlib
from rnnlib.compare import tolerance


def test_table_values():
    assert tolerance("cpu") == {"atol": 1e-5, "rtol": 1e-5}
    assert tolerance(torch.device("cuda", 1)) == {"atol": 1e-4, "rtol": 1e-4}
    assert tolerance("mps", torch.float32) == {"atol": 1e-4, "rtol": 1e-4}
    for device in ("cpu", "cuda", "mps"):
        assert tolerance(device, torch.float64) == {"atol": 1e-10, "rtol": 1e-10}


def test_float32_on_a_gpu_is_never_stricter_than_on_the_cpu():
    assert tolerance("cuda")["atol"] >= tolerance("cpu")["atol"]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64])
def test_unsupported_dtype_is_refused(dtype):
    with pytest.raises(ValueError, match="float32 or torch.float64"):
        tolerance("cpu", dtype)


def test_unknown_device_type_is_refused():
    with pytest.raises(ValueError, match="no measured float32 tolerance"):
        tolerance("meta")


def test_gate_order_error_is_caught_by_the_gpu_tolerance(device):
    """A real mistake (the LSTM's i and f gates swapped) differs far beyond the tolerance."""
    torch.manual_seed(0)
    ours = rnnlib.LSTM(3, 8, device=device)
    theirs = torch.nn.LSTM(3, 8, device=device)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(20, 4, 3, device=device)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], **tolerance(device))
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            i, f, g, o = getattr(theirs, name).chunk(4)
            getattr(theirs, name).copy_(torch.cat([f, i, g, o]))
    with pytest.raises(AssertionError):
        torch.testing.assert_close(ours(x)[0], theirs(x)[0], **tolerance("cuda"))
