"""Forward and backward rules of each cell, side by side (micrograd's habit), for the fused loop.

A rule knows one time step of one cell. The loop in :mod:`rnnlib.nn._functional` first
computes the input projection ``W_ih x_t + b`` of all time steps in one matrix product, into
the buffer where the rule forms its pre-activations ``a_t`` (``"gates"``; ``"h"`` for the Elman
cell, whose pre-activation turns into the state in place). Then, step by step:

- ``step`` adds the recurrent part ``W_hh h_{t-1}`` in place, applies the gates and writes the
  new state, with what the backward needs, into ``out`` (this step's rows of the buffers);
- ``back`` is the hand-written derivative of ``step``: from ``dL/d(state after the step)`` it
  writes ``dL/da_t`` into ``grad["a"]`` and returns ``dL/d(state before the step)``.

A step of ``back`` is one matrix product (``dL/dh_{t-1}``) and a few elementwise products;
the weight gradients are then single matrix products over all steps, e.g.
``dL/dW_hh = sum_t dA_t^T h_{t-1}``, made by the loop.

Buffers have one row per (time step, sequence) in the packed layout: ``(T, ...)`` with ``T``
the sum of the sequence lengths. ``out``, ``saved``, ``prev`` (the states entering the step)
and ``grad`` hold one time step's rows.
"""

from __future__ import annotations

import torch
from torch import Tensor

State = tuple[Tensor, ...]


def _d_sigmoid(s: Tensor, out: Tensor | None = None) -> Tensor:
    """σ'(a) = s (1 - s) = s - s², from s = σ(a), in one pass."""
    return torch.addcmul(s, s, s, value=-1, out=out)


def _d_tanh(t: Tensor, out: Tensor | None = None) -> Tensor:
    """tanh'(a) = 1 - t², from t = tanh(a), in one pass."""
    return torch.addcmul(t.new_ones(()), t, t, value=-1, out=out)


class _Rule:
    """Defaults: the input and the recurrent part enter the pre-activations ``a`` alike."""

    num_gates, state_names, bias_in_loop = 1, ("h",), False

    def grad_buffers(self, t: int, h: int, like: Tensor) -> dict[str, Tensor]:
        return {"a": like.new_empty(t, self.num_gates * h)}

    def input_grad(self, grad: dict) -> Tensor:
        return grad["a"]  # dL/d(W_ih x_t + b) = dL/d(W_hh h_{t-1}) = dL/da_t


class RNNRule(_Rule):
    """Elman cell: ``a_t = U x_t + b + W S_{t-1}``, ``S_t = f(a_t)``."""

    def __init__(self, nonlinearity: str = "tanh") -> None:
        self.nonlinearity = nonlinearity

    def buffers(self, xw: Tensor, h: int) -> dict[str, Tensor]:
        return {"h": xw}  # a_t becomes S_t in place

    def step(self, state: State, w_t: Tensor, b_hh, out: dict) -> State:
        a = out["h"].addmm_(state[0], w_t)  # a_t = (U x_t + b) + W S_{t-1}
        return (a.tanh_() if self.nonlinearity == "tanh" else a.relu_(),)  # S_t = f(a_t)

    def back(self, d: State, saved: dict, prev: dict, w: Tensor, grad: dict) -> State:
        s, da = saved["h"], grad["a"]
        if self.nonlinearity == "tanh":
            _d_tanh(s, out=da).mul_(d[0])  # dL/da_t = dL/dS_t ⊙ (1 - S_t²)
        else:
            torch.mul(d[0], s > 0, out=da)  # dL/da_t = dL/dS_t ⊙ [a_t > 0]
        return (da @ w,)  # dL/dS_{t-1} = dL/da_t W


class LSTMRule(_Rule):
    """LSTM cell, gates i, f, g, o; states (h, c)."""

    num_gates, state_names = 4, ("h", "c")

    def buffers(self, xw: Tensor, h: int) -> dict[str, Tensor]:
        t = xw.shape[0]
        new = xw.new_empty
        return {"gates": xw, "h": new(t, h), "c": new(t, h), "tanh_c": new(t, h)}

    def step(self, state: State, w_t: Tensor, b_hh, out: dict) -> State:
        h, c = state
        n = c.shape[1]  # H (h has P < H features with a projection)
        a = out["gates"].addmm_(h, w_t)  # (b, 4H): W_ih x_t + b + W_hh h_{t-1}, all gates
        a[:, : 2 * n].sigmoid_()  # i_t, f_t = σ(.)
        a[:, 2 * n : 3 * n].tanh_()  # g_t = tanh(.)
        a[:, 3 * n :].sigmoid_()  # o_t = σ(.)
        i, f, g, o = a.chunk(4, dim=1)
        c_new = torch.mul(f, c, out=out["c"]).addcmul_(i, g)  # c_t = f ⊙ c_{t-1} + i ⊙ g
        tc = torch.tanh(c_new, out=out["tanh_c"])
        return torch.mul(o, tc, out=out["h"]), c_new  # h_t = o_t ⊙ tanh(c_t)

    def back(self, d: State, saved: dict, prev: dict, w: Tensor, grad: dict) -> State:
        dh, dc = d
        s, tc = saved["gates"], saved["tanh_c"]  # (b, 4H) = [i, f, g, o]; (b, H)
        n = tc.shape[1]
        i, f, g, o = s.chunk(4, dim=1)
        dc = dc.addcmul(dh, _d_tanh(tc).mul_(o))  # dL/dc_t += dL/dh_t ⊙ o_t (1 - tanh²(c_t))
        da = grad["a"]  # (b, 4H): dL/d(pre-activations of i, f, g, o)
        di, df, dg, do = da.chunk(4, dim=1)
        torch.mul(dc, g, out=di)  # dL/di_t = dL/dc_t ⊙ g_t
        torch.mul(dc, prev["c"], out=df)  # dL/df_t = dL/dc_t ⊙ c_{t-1}
        torch.mul(dc, i, out=dg)  # dL/dg_t = dL/dc_t ⊙ i_t
        torch.mul(dh, tc, out=do)  # dL/do_t = dL/dh_t ⊙ tanh(c_t)
        local = _d_sigmoid(s)  # σ' = s (1 - s) of i, f, o ...
        _d_tanh(g, out=local[:, 2 * n : 3 * n])  # ... and tanh' = 1 - g² of g
        da.mul_(local)  # through the activations, to the pre-activations
        return da @ w, dc * f  # dL/dh_{t-1} = dA_t W, dL/dc_{t-1} = dL/dc_t ⊙ f_t


class LSTMProjRule(LSTMRule):
    """LSTM with a projection (``proj_size``): ``h_t = W_hr m_t``, ``m_t = o_t ⊙ tanh(c_t)``.

    The cell is the LSTM's; only its output ``m_t`` (``H`` features) is projected to ``h_t``
    (``P`` features), which is the layer's output and enters ``W_hh`` at the next step. ``c``
    keeps ``H`` features. ``w_hr`` is ``W_hr``, ``(P, H)``.
    """

    def __init__(self, w_hr: Tensor) -> None:
        self.w_hr = w_hr

    def buffers(self, xw: Tensor, h: int) -> dict[str, Tensor]:
        p, hidden = self.w_hr.shape
        buf = super().buffers(xw, hidden)  # gates, c, tanh_c and an (T, H) "h": m_t here
        return {**buf, "m": buf["h"], "h": xw.new_empty(xw.shape[0], p)}

    def step(self, state: State, w_t: Tensor, b_hh, out: dict) -> State:
        m, c = super().step(state, w_t, b_hh, {**out, "h": out["m"]})  # m_t = o_t ⊙ tanh(c_t)
        return torch.mm(m, self.w_hr.t(), out=out["h"]), c  # h_t = W_hr m_t

    def back(self, d: State, saved: dict, prev: dict, w: Tensor, grad: dict) -> State:
        dh, dc = d
        grad["h"].copy_(dh)  # dL/dh_t, kept for dL/dW_hr = sum_t dh_t^T m_t
        return super().back((dh @ self.w_hr, dc), saved, prev, w, grad)  # dL/dm_t = dh_t W_hr

    def grad_buffers(self, t: int, h: int, like: Tensor) -> dict[str, Tensor]:
        p, hidden = self.w_hr.shape
        return {"a": like.new_empty(t, 4 * hidden), "h": like.new_empty(t, p)}


class GRURule(_Rule):
    """GRU cell, gates r, z, n with ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``."""

    num_gates, state_names, bias_in_loop = 3, ("h",), True

    def buffers(self, xw: Tensor, h: int) -> dict[str, Tensor]:
        t = xw.shape[0]
        return {"gates": xw, "h": xw.new_empty(t, h), "gh": xw.new_empty(t, 3 * h)}

    def step(self, state: State, w_t: Tensor, b_hh, out: dict) -> State:
        (h,) = state
        n = h.shape[1]
        gh, a = out["gh"], out["gates"]  # (b, 3H) each; a holds W_ih x_t + b_ih
        if b_hh is None:
            torch.mm(h, w_t, out=gh)  # W_hh h_{t-1}
        else:
            torch.addmm(b_hh, h, w_t, out=gh)  # W_hh h_{t-1} + b_hh
        a[:, : 2 * n].add_(gh[:, : 2 * n]).sigmoid_()  # r_t, z_t = σ(W_i x + b_i + W_h h + b_h)
        r, z, n_t = a.chunk(3, dim=1)
        n_t.addcmul_(r, gh[:, 2 * n :]).tanh_()  # n_t = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        return (torch.lerp(n_t, h, z, out=out["h"]),)  # h_t = n_t + z_t ⊙ (h_{t-1} - n_t)

    def back(self, d: State, saved: dict, prev: dict, w: Tensor, grad: dict) -> State:
        (dh,) = d
        s = saved["gates"]  # (b, 3H) = [r, z, n]
        m = dh.shape[1]
        r, z, n = s.chunk(3, dim=1)
        # dL/d(pre n) = dL/dh_t ⊙ (1 - z_t) ⊙ (1 - n_t²): the n block of the input side
        dn = _d_tanh(n, out=grad["dn"]).mul_(torch.addcmul(dh, dh, z, value=-1))
        da = grad["a"]  # (b, 3H): dL/d(W_hh h_{t-1} + b_hh)
        dr, dz, dhn = da.chunk(3, dim=1)
        torch.mul(dn, saved["gh"][:, 2 * m :], out=dr)  # dL/dr_t = dn ⊙ (W_hn h_{t-1} + b_hn)
        torch.sub(prev["h"], n, out=dz).mul_(dh)  # dL/dz_t = dL/dh_t ⊙ (h_{t-1} - n_t)
        da[:, : 2 * m].mul_(_d_sigmoid(s[:, : 2 * m]))  # σ' of r and z
        torch.mul(dn, r, out=dhn)  # dL/d(W_hn h_{t-1} + b_hn) = dn ⊙ r_t
        return (torch.addcmul(da @ w, dh, z),)  # dL/dh_{t-1} = dA_t W + dL/dh_t ⊙ z_t

    def grad_buffers(self, t: int, h: int, like: Tensor) -> dict[str, Tensor]:
        return {"a": like.new_empty(t, 3 * h), "dn": like.new_empty(t, h)}

    def input_grad(self, grad: dict) -> Tensor:
        """dL/d(W_ih x + b_ih): the hidden side's gradient but for the n block (no factor r).

        Overwrites ``grad["a"]``: call it after the hidden side's gradients are taken.
        """
        n = grad["dn"].shape[1]
        grad["a"][:, 2 * n :] = grad["dn"]
        return grad["a"]


def get_rule(mode: str, w_hr: Tensor | None = None) -> RNNRule | LSTMRule | GRURule:
    """The rule for a torch mode name: ``RNN_TANH``, ``RNN_RELU``, ``LSTM`` or ``GRU``.

    ``w_hr``, for an LSTM only, is the projection ``W_hr (P, H)`` of an LSTM with ``proj_size``.
    """
    if mode == "LSTM":
        return LSTMRule() if w_hr is None else LSTMProjRule(w_hr)
    if mode == "GRU":
        return GRURule()
    return RNNRule("tanh" if mode == "RNN_TANH" else "relu")
