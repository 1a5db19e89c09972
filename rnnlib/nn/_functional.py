"""One layer, one direction: the recurrence over time, fused (hand-written BPTT) or plain.

Sequences live in the *packed* layout, as in :class:`torch.nn.utils.rnn.PackedSequence`:
``x`` has one row per (time step, sequence), time step after time step, ``batch_sizes[t]``
rows at step ``t``, longest sequences first. A padded batch ``(L, N, H_in)`` is the special case
``batch_sizes = [N] * L`` (a free reshape). A sequence that has ended simply drops out of the
rows, so padded steps never touch its state, and its final state is its state at its own last
step. Running backwards in time, sequences join as their last step comes, from their ``h_0``.

:func:`recurrence` runs :class:`Recurrence`: the input projection ``W_ih x + b`` of all
steps in one matrix product, then a loop over time (autograd off) that saves gates and states;
its backward is backpropagation through time written by hand (the rules of each cell are in
:mod:`rnnlib.nn._rules`), with every weight gradient a single matrix product over all steps.
:func:`loop` is the same computation with the cells' update functions and autograd, kept as
the reference the tests compare against.

Two cases leave the hand-written backward for the plain loop, so that everything autograd
offers keeps working on the default (fused) layers:

- *higher-order gradients* (``create_graph=True``: gradient penalties, ``gradgradcheck``,
  Hessian-vector products). The hand-written backward writes into buffers in place, which
  autograd cannot differentiate; so when a graph of the backward is wanted, the backward runs
  the plain loop again from the saved inputs and differentiates it with autograd
  (:func:`_backward_by_recompute`). The first derivative is the same; only this case pays for
  the second forward pass.
- *torch.func transforms* (``vmap``, ``grad``, ``jacrev``, and ``gradcheck``'s batched
  gradients): the in-place and ``out=`` calls of the fused loop have no batching rules, so under
  a transform the forward is the plain loop, and a backward called under ``vmap`` recomputes
  as above.
"""

from __future__ import annotations

from itertools import accumulate

import torch
import torch._C._functorch as _functorch
import torch.nn.functional as F
from torch import Tensor

from rnnlib.nn._rules import get_rule
from rnnlib.nn.cells import gru_update, lstm_update, rnn_update

States = tuple[Tensor, ...]


def schedule(batch_sizes: list[int], reverse: bool) -> list[int]:
    """The time steps in the order the recurrence visits them."""
    steps = list(range(len(batch_sizes)))
    return steps[::-1] if reverse else steps


def _enter(state: States | None, cur: int, b: int, states0: States, finals: list) -> States:
    """The state entering a step of ``b`` rows, from the ``cur`` rows leaving the last step."""
    if state is None:  # first step
        return tuple(s0[:b] for s0 in states0)
    if b < cur:  # sequences cur-1 ... b have ended: their states are final
        for pieces, s in zip(finals, state, strict=True):
            pieces.append((b, s[b:]))
        return tuple(s[:b] for s in state)
    if b > cur:  # (backwards in time) sequences cur ... b-1 start, from their h_0
        return tuple(torch.cat([s, s0[cur:b]]) for s, s0 in zip(state, states0, strict=True))
    return state


def _leave(state: States, finals: list) -> list[Tensor]:
    """Final states ``(N, H)``: the last step's rows plus the pieces of ended sequences."""
    out = []
    for pieces, s in zip(finals, state, strict=True):
        pieces = sorted([*pieces, (0, s)], key=lambda piece: piece[0])
        out.append(torch.cat([p for _, p in pieces]))
    return out


def _final_rows(batch_sizes: list[int], order: list[int]) -> list[tuple[int, int, int]]:
    """Where each sequence's final state sits: ``(row, a, b)`` for sequences ``a ... b-1``,
    whose final states are the rows ``row ... row + b - a - 1`` of the layout."""
    starts = list(accumulate([0, *batch_sizes[:-1]]))
    pieces, cur, last = [], 0, None
    for t in order:
        b = batch_sizes[t]
        if b < cur:  # sequences b ... cur-1 ended at the step before
            pieces.append((starts[last] + b, b, cur))
        cur, last = b, t
    return [*pieces, (starts[last], 0, cur)]


def _prev_ranges(batch_sizes: list[int], order: list[int]) -> list[tuple[str, int, int]]:
    """Where the state entering each row comes from: ``("s", a, b)`` rows of the states
    left by earlier steps, ``("0", a, b)`` rows of the initial state; in layout order."""
    starts = list(accumulate([0, *batch_sizes[:-1]]))
    pieces, cur, prev_start = [], 0, 0
    for start, b in ((starts[t], batch_sizes[t]) for t in order):
        m = min(cur, b)
        if m:
            pieces.append((start, "s", prev_start, prev_start + m))
        if b > m:
            pieces.append((start + m, "0", m, b))
        cur, prev_start = b, start
    merged: list[tuple[str, int, int]] = []
    for _, src, a, b in sorted(pieces):
        if merged and merged[-1][0] == src and merged[-1][2] == a:
            merged[-1] = (src, merged[-1][1], b)
        else:
            merged.append((src, a, b))
    return merged


def _gather(ranges: list[tuple[str, int, int]], s: Tensor, s0: Tensor) -> Tensor:
    """The state entering each row, ``(T, H)``, from :func:`_prev_ranges`."""
    return torch.cat([(s if src == "s" else s0)[a:b] for src, a, b in ranges] or [s[:0]])


def _per_step(buffers: dict[str, Tensor], batch_sizes: list[int]) -> list[dict[str, Tensor]]:
    """Each time step's rows of every buffer (views), in time order."""
    if not buffers:
        return [{} for _ in batch_sizes]
    views = zip(*(b.split(batch_sizes) for b in buffers.values()), strict=True)
    return [dict(zip(buffers, step, strict=True)) for step in views]


def _under_transform(*tensors: Tensor) -> bool:
    """Whether a torch.func transform (vmap, grad, jacrev, ...) is running, or one of the
    ``tensors`` is batched (``autograd.grad(..., is_grads_batched=True)``, as in
    ``gradcheck(..., check_batched_grad=True)``, vmaps the backward with batched tensors)."""
    return _functorch.maybe_current_level() is not None or any(
        _functorch.is_legacy_batchedtensor(t) or _functorch.is_functorch_wrapped_tensor(t)
        for t in tensors
    )


def _backward_by_recompute(ctx, d_outputs: tuple[Tensor, ...]) -> tuple:
    """:meth:`Recurrence.backward` by autograd through :func:`loop`, run again on the inputs.

    Differentiable itself when grad mode is on (``create_graph=True``), and made of operations
    that torch.func's transforms know.
    """
    inputs = ctx.saved_tensors[: 6 + ctx.num_states]  # x, w_ih, w_hh, b_ih, b_hh, w_hr, *states0
    x, w_ih, w_hh, b_ih, b_hh, w_hr, *states0 = inputs
    wanted = [i for i, t in enumerate(inputs) if t is not None and ctx.needs_input_grad[3 + i]]
    with torch.enable_grad():
        outputs = loop(ctx.mode, x, tuple(states0), w_ih, w_hh, b_ih, b_hh, ctx.batch_sizes,
                       reverse=ctx.reverse, w_hr=w_hr)
    grads = torch.autograd.grad(outputs, [inputs[i] for i in wanted], d_outputs,
                                create_graph=torch.is_grad_enabled(), allow_unused=True)
    result: list[Tensor | None] = [None] * len(inputs)
    for i, g in zip(wanted, grads, strict=True):
        result[i] = g if g is not None else torch.zeros_like(inputs[i])
    return (None, None, None, *result)


class Recurrence(torch.autograd.Function):
    """One layer-direction over time, with backpropagation through time written by hand.

    Inputs: ``mode``, ``batch_sizes`` (list), ``reverse``, ``x (T, H_in)`` in the packed
    layout, the parameters ``w_ih, w_hh, b_ih, b_hh, w_hr`` (biases and ``w_hr``, the
    projection of an LSTM with ``proj_size``, may be None) and the initial states ``(N, H)``
    (``h`` has ``P`` features with a projection). Outputs: ``h`` for every row ``(T, H)`` and
    the final states ``(N, H)``.
    """

    @staticmethod
    def forward(ctx, mode, batch_sizes, reverse, x, w_ih, w_hh, b_ih, b_hh, w_hr, *states0):
        rule = get_rule(mode, w_hr)
        if b_ih is None:
            xw = x @ w_ih.t()  # (T, G*H), the input projection of all steps at once
        elif rule.bias_in_loop:
            xw = torch.addmm(b_ih, x, w_ih.t())  # (T, G*H); b_hh is added inside the loop
        else:
            xw = torch.addmm(b_ih + b_hh, x, w_ih.t())  # (T, G*H), both biases folded in
        buf = rule.buffers(xw, w_hh.shape[1])
        out = _per_step(buf, batch_sizes)  # this step's rows of every buffer (views)
        w_t, b_loop = w_hh.t(), b_hh if rule.bias_in_loop else None  # (H, G*H)
        state, cur, finals = None, 0, [[] for _ in states0]
        for t in schedule(batch_sizes, reverse):
            state = _enter(state, cur, batch_sizes[t], states0, finals)
            state = rule.step(state, w_t, b_loop, out[t])
            cur = batch_sizes[t]
        finals = _leave(state, finals)
        ctx.mode, ctx.rule, ctx.batch_sizes, ctx.reverse = mode, rule, batch_sizes, reverse
        ctx.names, ctx.num_states = list(buf), len(states0)
        ctx.biases, ctx.projected = (b_ih is not None, b_hh is not None), w_hr is not None
        ctx.save_for_backward(x, w_ih, w_hh, b_ih, b_hh, w_hr, *states0, *buf.values())
        return (buf["h"], *finals)

    @staticmethod
    def backward(ctx, d_out, *d_finals):
        if torch.is_grad_enabled() or _under_transform(d_out, *d_finals):  # create_graph, vmap
            return _backward_by_recompute(ctx, (d_out, *d_finals))
        rule, batch_sizes = ctx.rule, ctx.batch_sizes
        order = schedule(batch_sizes, ctx.reverse)
        x, w_ih, w_hh, _, _, _, *saved = ctx.saved_tensors
        k = len(d_finals)
        states0, buf = saved[:k], dict(zip(ctx.names, saved[k:], strict=True))
        prev = {  # the state entering every row: (T, H) each
            n: _gather(_prev_ranges(batch_sizes, order), buf[n], s0)
            for n, s0 in zip(rule.state_names, states0, strict=True)
        }
        # dL/d(state leaving each row), (T, H) each: the output's gradient and, in the rows
        # where sequences end, the final states'; each step adds in what it passes back.
        d_state = [d_out.clone(memory_format=torch.contiguous_format)]
        d_state += [torch.zeros_like(buf[n]) for n in rule.state_names[1:]]
        for row, a, b in _final_rows(batch_sizes, order):
            for ds, g in zip(d_state, d_finals, strict=True):
                ds[row : row + b - a] += g[a:b]
        grad = rule.grad_buffers(d_out.shape[0], w_hh.shape[1], d_out)
        fac = rule.slopes(buf, prev, grad)  # what does not depend on dL/d(state), all steps
        saves, facs, grads = (_per_step(v, batch_sizes) for v in (buf, fac, grad))
        d_steps = list(zip(*(ds.split(batch_sizes) for ds in d_state), strict=True))
        starts = list(accumulate([0, *batch_sizes[:-1]]))
        d0 = [torch.zeros_like(s0) for s0 in states0]
        for j in reversed(range(len(order))):  # the forward's steps, last first
            t, b = order[j], batch_sizes[order[j]]
            before = order[j - 1] if j else None  # the step whose state enters t
            cur = batch_sizes[before] if j else 0  # its rows; rows cur ... b-1 start at h_0
            if not j:  # the first step: all from the initial state
                into = [g0[:b] for g0 in d0]
            elif b <= cur:  # dL/d(state entering t) goes straight into the step before's rows
                into = [ds[starts[before] : starts[before] + b] for ds in d_state]
            else:  # (backwards in time) sequences cur ... b-1 join here, from their h_0
                into = [torch.zeros_like(g0[:b]) for g0 in d0]
            rule.back(d_steps[t], saves[t], facs[t], w_hh, grads[t], into)
            if 0 < cur < b:
                for ds, g0, g in zip(d_state, d0, into, strict=True):
                    ds[starts[before] : starts[before] + cur] += g[:cur]
                    g0[cur:b] += g[cur:]
        # Parameter gradients: one matrix product (or sum) over all steps each.
        need = ctx.needs_input_grad
        da = grad["a"]  # (T, G*H): dL/d(W_hh h_{t-1} + b_hh) for every row
        d_w_hh = da.t() @ prev["h"] if need[5] else None  # sum_t dA_t^T h_{t-1}
        d_b_hh = da.sum(0) if ctx.biases[1] and need[7] else None
        d_xw = rule.input_grad(grad)  # (T, G*H): dL/d(W_ih x_t + b_ih)
        d_x = d_xw @ w_ih if need[3] else None  # (T, H_in)
        d_w_ih = d_xw.t() @ x if need[4] else None  # sum_t dXW_t^T x_t
        d_b_ih = None
        if ctx.biases[0] and need[6]:  # equal to d_b_hh where both biases enter a_t alike
            same = d_b_hh is not None and not rule.bias_in_loop
            d_b_ih = d_b_hh.clone() if same else d_xw.sum(0)
        d_w_hr = None
        if ctx.projected and need[8]:  # sum_t dh_t^T m_t, h_t = W_hr m_t
            d_w_hr = d_state[0].t() @ buf["m"]  # (P, T) @ (T, H)
        return None, None, None, d_x, d_w_ih, d_w_hh, d_b_ih, d_b_hh, d_w_hr, *d0


def recurrence(
    mode: str,
    x: Tensor,
    states0: States,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: list[int],
    reverse: bool = False,
    w_hr: Tensor | None = None,
) -> tuple[Tensor, ...]:
    """One layer-direction, fused: ``(h for every row (T, H), *final states (N, H))``.

    Under a torch.func transform (vmap, grad, ...) this is :func:`loop`: the fused loop's
    in-place steps have no batching rules.

    Args:
        mode: ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
        x: inputs in the packed layout, ``(T, H_in)``.
        states0: initial states ``(N, H)``: ``(h_0,)``, or ``(h_0, c_0)`` for an LSTM.
        w_ih, w_hh, b_ih, b_hh: the layer's parameters (biases may be None).
        batch_sizes: rows per time step, non-increasing, summing to ``T``.
        reverse: run from the last time step to the first.
        w_hr: an LSTM's projection ``(P, H)`` (``proj_size = P``): ``h`` then has ``P``
            features, ``h_t = W_hr (o_t ⊙ tanh(c_t))``; None for no projection.
    """
    if _under_transform():
        return loop(mode, x, states0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse, w_hr=w_hr)
    return Recurrence.apply(mode, batch_sizes, reverse, x, w_ih, w_hh, b_ih, b_hh, w_hr,
                            *states0)


def loop(
    mode: str,
    x: Tensor,
    states0: States,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: list[int],
    reverse: bool = False,
    w_hr: Tensor | None = None,
) -> tuple[Tensor, ...]:
    """The reference for :func:`recurrence`: a plain cell loop, differentiated by autograd."""
    xs, outs = x.split(batch_sizes), {}
    state, cur, finals = None, 0, [[] for _ in states0]
    for t in schedule(batch_sizes, reverse):
        state = _enter(state, cur, batch_sizes[t], states0, finals)
        gi = F.linear(xs[t], w_ih, b_ih)  # U x_t + b_ih
        gh = F.linear(state[0], w_hh, b_hh)  # W h_{t-1} + b_hh
        if mode == "LSTM":
            state = lstm_update(gi, gh, state[1])
            if w_hr is not None:
                state = (F.linear(state[0], w_hr), state[1])  # h_t = W_hr (o_t ⊙ tanh(c_t))
        elif mode == "GRU":
            state = (gru_update(gi, gh, state[0]),)
        else:
            state = (rnn_update(gi, gh, "tanh" if mode == "RNN_TANH" else "relu"),)
        outs[t], cur = state[0], batch_sizes[t]
    return (torch.cat([outs[t] for t in range(len(xs))]), *_leave(state, finals))
