"""Forward and backward rules of each cell, side by side (micrograd's habit), for the fused loop.

A rule knows one time step of one cell. The loop in :mod:`rnnlib.nn._functional` first
computes the input projection ``W_ih x_t + b`` of all time steps in one matrix product, into
the buffer where the rule forms its pre-activations ``a_t`` (``"gates"``; ``"h"`` for the Elman
cell, whose pre-activation turns into the state in place). Then, step by step:

- ``step`` adds the recurrent part ``W_hh h_{t-1}`` in place, applies the gates and writes the
  new state, with what the backward needs, into ``out`` (this step's rows of the buffers);
- ``back`` is the hand-written derivative of ``step``: from ``dL/d(state after the step)``,
  complete by then, it turns this step's rows of ``grad["a"]`` into ``dL/da_t`` and adds
  ``dL/d(state before the step)`` into ``into`` (the rows of the step before, or of ``h_0``).

Most of a step's derivative does not depend on the gradient flowing back: the local slopes
``σ'(a) = s (1 - s)`` and ``tanh'(a) = 1 - t²``, and their products with saved gates and states.
``slopes`` computes them for *all* steps at once, in a few large elementwise operations, into
``grad["a"]`` before the backward loop starts; a step of ``back`` then multiplies them by the
incoming gradient in place and makes one matrix product (``dA_t W_hh``, added into
``dL/dh_{t-1}``): five operations a step for an LSTM, where a direct translation of the
chain rule takes about a dozen. The weight gradients are single matrix products over all
steps, e.g. ``dL/dW_hh = sum_t dA_t^T h_{t-1}``, made by the loop.

Buffers have one row per (time step, sequence) in the packed layout: ``(T, ...)`` with ``T``
the sum of the sequence lengths. ``out``, ``saved``, ``fac`` (what ``slopes`` returns besides
``grad``) and ``grad`` hold one time step's rows.
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

    def slopes(self, buf: dict, prev: dict, grad: dict) -> dict[str, Tensor]:
        s, k = buf["h"], grad["a"]
        if self.nonlinearity == "tanh":
            _d_tanh(s, out=k)  # f'(a_t) = 1 - S_t²
        else:
            torch.gt(s, 0, out=k)  # f'(a_t) = [a_t > 0]
        return {}

    def back(self, d: State, saved: dict, fac: dict, w: Tensor, grad: dict, into: State):
        da = grad["a"].mul_(d[0])  # dL/da_t = f'(a_t) ⊙ dL/dS_t
        into[0].addmm_(da, w)  # dL/dS_{t-1} += dL/da_t W


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

    def slopes(self, buf: dict, prev: dict, grad: dict) -> dict[str, Tensor]:
        """For all steps, into ``grad["a"]``: the factors that turn ``dL/dc_t`` (gates i, f,
        g) and ``dL/dh_t`` (gate o) into ``dL/da_t``. Returns ``∂h_t/∂c_t`` and ``f_t``."""
        s, tc = buf["gates"], buf["tanh_c"]  # (T, 4H) = [i, f, g, o]; (T, H)
        i, f, g, o = s.chunk(4, dim=1)
        k = _d_sigmoid(s, out=grad["a"])  # σ' = s (1 - s), right for i, f and o
        k_i, k_f, k_g, k_o = k.chunk(4, dim=1)
        k_i.mul_(g)  # ∂c_t/∂(pre i) = g_t σ'
        k_f.mul_(prev["c"])  # ∂c_t/∂(pre f) = c_{t-1} σ'
        _d_tanh(g, out=k_g).mul_(i)  # ∂c_t/∂(pre g) = i_t (1 - g_t²)
        k_o.mul_(tc)  # ∂h_t/∂(pre o) = tanh(c_t) σ'
        return {"kc": _d_tanh(tc).mul_(o), "f": f}  # ∂h_t/∂c_t = o_t (1 - tanh²(c_t))

    def back(self, d: State, saved: dict, fac: dict, w: Tensor, grad: dict, into: State):
        dh, dc = d  # (b, H) each, complete: from the output, the final state and step t+1
        b, n = dc.shape
        dc.addcmul_(dh, fac["kc"])  # dL/dc_t += dL/dh_t ⊙ ∂h_t/∂c_t
        da = grad["a"]  # (b, 4H): the slopes, to become dL/d(pre-activations of i, f, g, o)
        da[:, : 3 * n].view(b, 3, n).mul_(dc.unsqueeze(1))  # i, f, g: times dL/dc_t
        da[:, 3 * n :].mul_(dh)  # o: times dL/dh_t
        into[0].addmm_(da, w)  # dL/dh_{t-1} += dA_t W_hh
        into[1].addcmul_(dc, fac["f"])  # dL/dc_{t-1} += dL/dc_t ⊙ f_t


class LSTMProjRule(LSTMRule):
    """LSTM with a projection (``proj_size``): ``h_t = W_hr m_t``, ``m_t = o_t ⊙ tanh(c_t)``.

    The cell is the LSTM's; only its output ``m_t`` (``H`` features) is projected to ``h_t``
    (``P`` features), which is the layer's output and enters ``W_hh`` at the next step. ``c``
    keeps ``H`` features. ``w_hr`` is ``W_hr``, ``(P, H)``. The loop gets ``dL/dW_hr =
    sum_t dh_t^T m_t`` from the complete ``dL/dh_t`` of all steps after the backward loop.
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

    def back(self, d: State, saved: dict, fac: dict, w: Tensor, grad: dict, into: State):
        dh, dc = d
        super().back((dh @ self.w_hr, dc), saved, fac, w, grad, into)  # dL/dm_t = dh_t W_hr

    def grad_buffers(self, t: int, h: int, like: Tensor) -> dict[str, Tensor]:
        return {"a": like.new_empty(t, 4 * self.w_hr.shape[1])}


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

    def slopes(self, buf: dict, prev: dict, grad: dict) -> dict[str, Tensor]:
        """For all steps, into ``grad``: the factors that turn ``dL/dh_t`` into ``dL/d(pre n)``
        (``grad["dn"]``) and ``dL/d(pre z)``, and ``dL/d(pre n)`` into ``dL/d(pre r)`` and
        ``dL/d(W_hn h + b_hn)`` (``grad["a"]``). Returns ``z_t``."""
        s = buf["gates"]  # (T, 3H) = [r, z, n]
        m = s.shape[1] // 3
        r, z, n = s.chunk(3, dim=1)
        k_r, k_z, k_hn = grad["a"].chunk(3, dim=1)
        _d_sigmoid(s[:, : 2 * m], out=grad["a"][:, : 2 * m])  # σ' of r and z
        k_r.mul_(buf["gh"][:, 2 * m :])  # ∂(pre n)/∂(pre r) = (W_hn h_{t-1} + b_hn) σ'
        k_z.mul_(torch.sub(prev["h"], n))  # ∂h_t/∂(pre z) = (h_{t-1} - n_t) σ'
        k_hn.copy_(r)  # ∂(pre n)/∂(W_hn h_{t-1} + b_hn) = r_t
        _d_tanh(n, out=grad["dn"]).mul_(1 - z)  # ∂h_t/∂(pre n) = (1 - z_t)(1 - n_t²)
        return {"z": z}

    def back(self, d: State, saved: dict, fac: dict, w: Tensor, grad: dict, into: State):
        (dh,) = d
        b, m = dh.shape
        dn = grad["dn"].mul_(dh)  # dL/d(pre n), the input side's gradient of the n block too
        da = grad["a"]  # (b, 3H): to become dL/d(W_hh h_{t-1} + b_hh) of r, z, n
        da.view(b, 3, m)[:, ::2].mul_(dn.unsqueeze(1))  # r and n: times dL/d(pre n)
        da[:, m : 2 * m].mul_(dh)  # z: times dL/dh_t
        into[0].addmm_(da, w).addcmul_(dh, fac["z"])  # dL/dh_{t-1} += dA_t W + dL/dh_t ⊙ z_t

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
