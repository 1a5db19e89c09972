"""rnnlib.compare: the documented tolerances, and that they separate rounding from real errors."""

from __future__ import annotations

import pytest
import torch

import rnnlib
from rnnlib.compare import tolerance


@pytest.fixture
def tf32():
    """Set PyTorch's two TF32 switches for one test, restoring them afterwards."""
    matmul = torch.backends.cuda.matmul
    saved = torch.backends.cudnn.allow_tf32, matmul.allow_tf32

    def set_tf32(cudnn: bool, matmul_tf32: bool) -> None:
        torch.backends.cudnn.allow_tf32 = cudnn
        matmul.allow_tf32 = matmul_tf32

    yield set_tf32
    set_tf32(*saved)


def test_table_values(tf32):
    tf32(cudnn=False, matmul_tf32=False)
    assert tolerance("cpu") == {"atol": 1e-5, "rtol": 1e-5}
    assert tolerance(torch.device("cuda", 1)) == {"atol": 1e-4, "rtol": 1e-4}
    assert tolerance("mps", torch.float32) == {"atol": 1e-4, "rtol": 1e-4}
    for device in ("cpu", "cuda", "mps"):
        assert tolerance(device, torch.float64) == {"atol": 1e-10, "rtol": 1e-10}


@pytest.mark.parametrize(("cudnn", "matmul"), [(True, False), (False, True), (True, True)])
def test_tf32_on_cuda_gets_its_own_looser_tolerance(tf32, cudnn, matmul):
    tf32(cudnn=cudnn, matmul_tf32=matmul)
    assert tolerance("cuda") == {"atol": 5e-3, "rtol": 5e-3}
    assert tolerance("cpu") == {"atol": 1e-5, "rtol": 1e-5}  # TF32 is a CUDA mode
    assert tolerance("cuda", torch.float64) == {"atol": 1e-10, "rtol": 1e-10}


def test_float32_on_a_gpu_is_never_stricter_than_on_the_cpu(tf32):
    for cudnn in (False, True):
        tf32(cudnn=cudnn, matmul_tf32=False)
        assert tolerance("cuda")["atol"] >= tolerance("cpu")["atol"]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64])
def test_unsupported_dtype_is_refused(dtype):
    with pytest.raises(ValueError, match="float32 or torch.float64"):
        tolerance("cpu", dtype)


def test_unknown_device_type_is_refused():
    with pytest.raises(ValueError, match="no measured float32 tolerance"):
        tolerance("meta")


def test_gate_order_error_is_caught_by_the_loosest_tolerance(device, tf32):
    """A real mistake (the LSTM's i and f gates swapped) differs far beyond every tolerance,
    including TF32's, while the correct layers agree within the device's current one."""
    tf32(cudnn=True, matmul_tf32=False)  # PyTorch's defaults
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
    loosest = tolerance("cuda")
    assert loosest["atol"] == 5e-3
    with pytest.raises(AssertionError):
        torch.testing.assert_close(ours(x)[0], theirs(x)[0], **loosest)
