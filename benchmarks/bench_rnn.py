"""Time forward + backward of rnnlib's RNN, LSTM and GRU against their torch.nn twins.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_rnn                  # default sizes, CPU (+ CUDA)
    .venv/bin/python -m benchmarks.bench_rnn --reps 11 --sizes 64,256,100,64 --layers lstm
    .venv/bin/python -m benchmarks.bench_rnn --plain     # also rnnlib's plain autograd loop
    .venv/bin/python -m benchmarks.bench_rnn --floor     # also the matrix products alone

Both layers get the same weights and the same input. Calls are interleaved (rnnlib, torch,
torch, rnnlib, ...) in one process so that load from other programs hits both alike; the
table shows the median time of each, the median of the per-repetition ratios
rnnlib / torch.nn and their spread (lower and upper quartile). Sizes are ``H_in,H,L,N``
(input features, hidden size, length, batch).
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import torch

import rnnlib

DEFAULT_SIZES = ["64,256,100,64", "32,128,50,32", "128,512,50,64"]
PAIRS = {
    "lstm": (rnnlib.LSTM, torch.nn.LSTM),
    "gru": (rnnlib.GRU, torch.nn.GRU),
    "rnn": (rnnlib.RNN, torch.nn.RNN),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_step(layer: torch.nn.Module, x: torch.Tensor) -> float:
    """Seconds for one forward + backward of ``layer`` on ``x`` (loss: sum of the output)."""
    _sync(x.device)
    start = time.perf_counter()
    output, _ = layer(x)
    output.sum().backward()
    _sync(x.device)
    return time.perf_counter() - start


def matmul_floor(name: str, size: str, device: torch.device):
    """A function that runs only the matrix products of rnnlib's fused forward + backward.

    The same products, of the same shapes, in the same order, as :mod:`rnnlib.nn._functional`
    makes for one layer (``G`` gates): the input projection of all steps, one ``h W_hh^T``
    per step forward and one ``dA W_hh`` per step backward, and the three products over all
    steps for ``dW_hh``, ``dW_ih`` and ``dx``. No elementwise work, no Python between steps
    beyond the call: a lower bound for any implementation built from these products.
    """
    input_size, hidden_size, length, batch = (int(v) for v in size.split(","))
    g, rows = {"lstm": 4, "gru": 3, "rnn": 1}[name] * hidden_size, length * batch
    new = partial(torch.randn, device=device)
    x, w_ih, w_hh, b = new(rows, input_size), new(g, input_size), new(g, hidden_size), new(g)
    xw, da, h, d_h = new(rows, g), new(rows, g), new(rows, hidden_size), new(rows, hidden_size)

    def run() -> None:
        torch.addmm(b, x, w_ih.t(), out=xw)
        for gates, state in zip(xw.split(batch), h.split(batch), strict=True):
            gates.addmm_(state, w_hh.t())
        for d_gates, d_state in zip(da.split(batch), d_h.split(batch), strict=True):
            d_state.addmm_(d_gates, w_hh)
        _ = da.t() @ h, da.t() @ x, da @ w_ih

    return run


def compare(
    name: str,
    size: str,
    device: torch.device,
    reps: int,
    warmup: int,
    plain: bool = False,
    floor: bool = False,
) -> dict:
    """Median times (ms) of the rnnlib layer and its torch.nn twin, and the median ratio.

    With ``plain``, also the time of rnnlib's plain cell loop (``fused = False``, autograd);
    with ``floor``, the time of its matrix products alone (:func:`matmul_floor`) and the
    median ratio of that time to torch.nn's.
    """
    input_size, hidden_size, length, batch = (int(v) for v in size.split(","))
    ours_cls, torch_cls = PAIRS[name]
    ours = ours_cls(input_size, hidden_size, device=device)
    theirs = torch_cls(input_size, hidden_size, device=device)
    theirs.load_state_dict(ours.state_dict())
    loop = ours_cls(input_size, hidden_size, device=device)
    loop.load_state_dict(ours.state_dict())
    loop.fused = False
    x = torch.randn(length, batch, input_size, device=device, requires_grad=True)
    t_ours, t_theirs, t_loop, t_floor = [], [], [], []
    layers = [(ours, t_ours), (theirs, t_theirs)] + ([(loop, t_loop)] if plain else [])
    products = matmul_floor(name, size, device) if floor else None
    for rep in range(warmup + reps):
        for layer, times in layers if rep % 2 == 0 else layers[::-1]:
            seconds = time_step(layer, x)
            if rep >= warmup:
                times.append(seconds)
        if products is not None:
            _sync(device)
            start = time.perf_counter()
            products()
            _sync(device)
            if rep >= warmup:
                t_floor.append(time.perf_counter() - start)
    ratios = sorted(a / b for a, b in zip(t_ours, t_theirs, strict=True))
    floor_ratios = sorted(a / b for a, b in zip(t_floor, t_theirs, strict=True)) if floor else []
    return {
        "floor_ms": 1e3 * statistics.median(t_floor) if floor else float("nan"),
        "floor_ratio": statistics.median(floor_ratios) if floor else float("nan"),
        "loop_ms": 1e3 * statistics.median(t_loop) if plain else float("nan"),
        "layer": name.upper(),
        "size": size,
        "device": device.type,
        "rnnlib_ms": 1e3 * statistics.median(t_ours),
        "torch_ms": 1e3 * statistics.median(t_theirs),
        "ratio": statistics.median(ratios),
        "spread": (ratios[len(ratios) // 4], ratios[-1 - len(ratios) // 4]),  # quartiles
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES, help="H_in,H,L,N ...")
    parser.add_argument("--layers", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu (+ cuda)")
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions per layer")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--plain", action="store_true",
                        help="also time rnnlib's plain cell loop (fused = False)")
    parser.add_argument("--floor", action="store_true",
                        help="also time the fused layer's matrix products alone, and their "
                             "ratio to torch.nn's whole forward + backward")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {args.reps} reps")
    print(f"{'layer':<5} {'device':<6} {'H_in,H,L,N':<15} {'rnnlib ms':>10} {'torch ms':>10}"
          f" {'ratio':>6} {'quartiles':>11}" + (f" {'plain loop ms':>14}" if args.plain else "")
          + (f" {'products ms':>12} {'/ torch':>7}" if args.floor else ""))
    rows = []
    for device in devices:
        for size in args.sizes:
            for name in args.layers:
                r = compare(name, size, torch.device(device), args.reps, args.warmup, args.plain,
                            args.floor)
                rows.append(r)
                print(f"{r['layer']:<5} {r['device']:<6} {r['size']:<15} {r['rnnlib_ms']:>10.1f}"
                      f" {r['torch_ms']:>10.1f} {r['ratio']:>6.2f}"
                      f" {r['spread'][0]:>5.2f}-{r['spread'][1]:<5.2f}"
                      + (f" {r['loop_ms']:>14.1f}" if args.plain else "")
                      + (f" {r['floor_ms']:>12.1f} {r['floor_ratio']:>7.2f}" if args.floor else ""),
                      flush=True)
    return rows


if __name__ == "__main__":
    main()
