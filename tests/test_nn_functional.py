"""rnnlib.nn._functional: the fused recurrence (hand-written BPTT) equals the plain cell loop."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlib.nn import _functional as fn

H_IN, H = 3, 4
MODES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
BATCH_SIZES = {"padded": [3, 3, 3, 3], "packed": [4, 3, 3, 1, 1], "empty": [0, 0, 0]}


def tensors(mode, batch_sizes, bias=True, seed=0, dtype=torch.float64, device="cpu"):
    """Inputs, initial states and parameters of one layer-direction, requiring grad."""
    gen = torch.Generator().manual_seed(seed)
    gates, rows, n = MODES[mode] * H, sum(batch_sizes), batch_sizes[0]

    def rand(*shape):
        t = torch.randn(*shape, generator=gen, dtype=dtype) * 0.5
        return t.to(device).requires_grad_()

    x = rand(rows, H_IN)
    states0 = tuple(rand(n, H) for _ in range(2 if mode == "LSTM" else 1))
    params = [rand(gates, H_IN), rand(gates, H)]
    params += [rand(gates), rand(gates)] if bias else [None, None]
    return x, states0, params


def grads_of(outputs, inputs):
    """Gradients of a fixed random weighting of ``outputs`` w.r.t. ``inputs``."""
    gen = torch.Generator().manual_seed(1)
    loss = sum((torch.randn(o.shape, generator=gen, dtype=o.dtype).to(o.device) * o).sum()
               for o in outputs)
    return torch.autograd.grad(loss, [t for t in inputs if t is not None])


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("layout", list(BATCH_SIZES))
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("mode", list(MODES))
def test_fused_recurrence_equals_plain_cell_loop(mode, bias, layout, reverse, device):
    batch_sizes = BATCH_SIZES[layout]
    x, states0, params = tensors(mode, batch_sizes, bias, device=device)
    fused = fn.recurrence(mode, x, states0, *params, batch_sizes, reverse)
    plain = fn.loop(mode, x, states0, *params, batch_sizes, reverse)
    for a, b in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    inputs = [x, *states0, *params]
    for a, b in zip(grads_of(fused, inputs), grads_of(plain, inputs), strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("mode", list(MODES))
def test_gradcheck_passes_on_doubles(mode, reverse):
    batch_sizes = [3, 2, 2, 1]
    x, states0, params = tensors(mode, batch_sizes, seed=2)

    def f(x, *rest):
        states, ps = rest[: len(states0)], rest[len(states0) :]
        return fn.recurrence(mode, x, states, *ps, batch_sizes, reverse)

    assert torch.autograd.gradcheck(f, (x, *states0, *params), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", list(MODES))
def test_second_derivatives_equal_the_plain_loops(mode):
    """create_graph=True: the fused backward is differentiable, packed and reversed too."""
    batch_sizes = BATCH_SIZES["packed"]
    x, states0, params = tensors(mode, batch_sizes)
    inputs = [x, *states0, *params]
    second = []
    for run in (fn.recurrence, fn.loop):
        outputs = run(mode, x, states0, *params, batch_sizes, reverse=True)
        first = torch.autograd.grad(sum(o.sin().sum() for o in outputs), inputs,
                                    create_graph=True)
        second.append(grads_of(first, inputs))
    for a, b in zip(*second, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)


def test_frozen_weights_get_no_gradient_but_inputs_do():
    x, states0, params = tensors("GRU", [3, 2])
    params[1].requires_grad_(False)
    out, h_n = fn.recurrence("GRU", x, states0, *params, [3, 2])
    out.sum().backward()
    assert params[1].grad is None and x.grad is not None and params[3].grad is not None


def test_schedule_visits_time_steps_in_order_or_reversed():
    assert fn.schedule([3, 2, 2], reverse=False) == [0, 1, 2]
    assert fn.schedule([3, 2, 2], reverse=True) == [2, 1, 0]


def test_previous_state_ranges_for_padded_and_packed_layouts():
    # padded, forward: h_0 then the outputs of steps 0..L-2
    assert fn._prev_ranges([2, 2, 2], [0, 1, 2]) == [("0", 0, 2), ("s", 0, 4)]
    # padded, reverse: the outputs of steps 1..L-1 then h_0 (for the last step)
    assert fn._prev_ranges([2, 2, 2], [2, 1, 0]) == [("s", 2, 6), ("0", 0, 2)]
    # packed, reverse: sequence 1 (length 1) starts from h_0 at step 0
    assert fn._prev_ranges([2, 1], [1, 0]) == [("s", 2, 3), ("0", 1, 2), ("0", 0, 1)]


@settings(max_examples=25, deadline=None)
@given(
    mode=st.sampled_from(list(MODES)),
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    reverse=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_fused_equals_loop_for_random_lengths(mode, lengths, reverse, seed):
    lengths = sorted(lengths, reverse=True)
    batch_sizes = [sum(n > t for n in lengths) for t in range(lengths[0])]
    x, states0, params = tensors(mode, batch_sizes, seed=seed)
    fused = fn.recurrence(mode, x, states0, *params, batch_sizes, reverse)
    plain = fn.loop(mode, x, states0, *params, batch_sizes, reverse)
    inputs = [x, *states0, *params]
    for a, b in zip([*fused, *grads_of(fused, inputs)], [*plain, *grads_of(plain, inputs)],
                    strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
