"""The longer run of chapter 09: the attention encoder–decoder on cmudict for a fixed time.

Chapter 09 trains each model for a few hundred updates, to stay inside its 60-second budget.
This script trains the chapter's best model (GRU encoder, attention decoder, same split, same
vocabularies) for as long as you give it, and reports phoneme and word error rates on the
chapter's validation sample while it trains, then once on the whole test split, with greedy
decoding and beam search. Run from the repository root::

    .venv/bin/python -m benchmarks.g2p_long --minutes 10          # CPU, or CUDA if present
    .venv/bin/python -m benchmarks.g2p_long --minutes 5 --hidden 256 --batch 256
    .venv/bin/python -m benchmarks.g2p_long --updates 20000 \
        --record benchmarks/results/g2p_long.json

``--updates`` stops after a fixed number of updates instead of a time, and then evaluates (and
lets the learning-rate schedule react) every twentieth of the run rather than every minute, so
that the result does not depend on the machine's speed. ``--record`` writes the settings, the
validation curve, the test error rates, the time taken and the machine to a JSON file. Chapter 09
reads ``benchmarks/results/g2p_long.json`` and quotes it as a recorded run, saying when and where
it was made.

The published anchor is Yao & Zweig (2015): PER 5.45 %, WER 23.55 % on cmudict with a
bidirectional LSTM (a different split and a stronger model than this one).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from datetime import date
from pathlib import Path

import torch

import rnnlib as rl
from rnnlib import metrics
from rnnlib import seq2seq as s2s
from rnnlib.data import cmudict
from rnnlib.data.batching import Vocabulary


def error_rates(model, data, letters, phones, decode, batch=1000):
    hyps = []
    for start in range(0, len(data), batch):
        src, lengths, _ = cmudict.g2p_tensors(data[start : start + batch], letters, phones)
        dev = next(model.parameters()).device
        ids = decode(model, src.to(dev), lengths.to(dev))
        hyps += [tuple(phones.decode(row)) for row in ids.cpu()]
    refs = [p for _, p in data]
    return metrics.phoneme_error_rate(refs, hyps), metrics.word_error_rate(refs, hyps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="time limit")
    parser.add_argument("--updates", type=int, default=None, help="stop after this many updates")
    parser.add_argument("--record", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--test-words", type=int, default=None, help="test on the first N only")
    parser.add_argument("--valid-words", type=int, default=2000, help="validation sample size")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--eval-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)

    rl.seed(0)
    device = torch.device(args.device) if args.device else rl.device()
    data = cmudict.entries(max_len=12)  # the chapter's data and split
    train, valid, test = cmudict.split_words(data, (0.8, 0.1, 0.1), seed=0)
    letters = Vocabulary(sorted({c for w, _ in data for c in w}))
    phones = Vocabulary(sorted({p for _, ps in data for p in ps}))
    valid_sample = random.Random(0).sample(valid, min(args.valid_words, len(valid)))
    if args.test_words is not None:
        test = test[: args.test_words]
    if args.updates is not None:  # a fixed amount of work: evaluate at fixed update counts
        args.minutes = float("inf")
        eval_updates = max(1, args.updates // 20)
    tensors = cmudict.g2p_tensors(train, letters, phones)
    model = s2s.Seq2Seq(len(letters), len(phones), args.hidden, 64, use="attention").to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    greedy = lambda m, x, n: s2s.greedy_decode(m, x, n, 30)  # noqa: E731
    start, next_eval, steps, best = time.perf_counter(), args.eval_every, 0, (9.0, None)
    curve = []  # (seconds, updates, valid PER, valid WER)
    done = lambda: steps >= args.updates if args.updates is not None else False  # noqa: E731
    generator = torch.Generator().manual_seed(0)
    print(f"device {device}, {len(train)} training words, H = {args.hidden}")
    while (elapsed := time.perf_counter() - start) < 60 * args.minutes and not done():
        order = torch.randperm(len(train), generator=generator)
        for i in range(0, len(train), args.batch):
            src, lengths, tgt = (t[order[i : i + args.batch]].to(device) for t in tensors)
            opt.zero_grad(set_to_none=True)
            model.loss(src, lengths, tgt).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            steps += 1
            elapsed = time.perf_counter() - start
            if args.updates is not None:
                evaluate_now = steps % eval_updates == 0 or done()
            else:
                evaluate_now = elapsed > next_eval or elapsed > 60 * args.minutes
            if evaluate_now:
                model.eval()
                per, wer = error_rates(model, valid_sample, letters, phones, greedy)
                model.train()
                sched.step(per)
                if per < best[0]:
                    best = (per, {k: v.clone() for k, v in model.state_dict().items()})
                print(f"{elapsed:7.0f} s  {steps:6d} updates  valid PER {per:.2%}  WER {wer:.2%}")
                curve.append((round(elapsed, 1), steps, per, wer))
                next_eval += args.eval_every
            if elapsed > 60 * args.minutes or done():
                break
    model.load_state_dict(best[1])
    model.eval()
    beam = lambda m, x, n: s2s.beam_search(m, x, n, args.beam, 30)  # noqa: E731
    result = {
        "date": date.today().isoformat(),
        "minutes": round((time.perf_counter() - start) / 60, 2),
        "updates": steps,
        "epochs": round(steps * args.batch / len(train), 2),
        "hidden": args.hidden,
        "batch": args.batch,
        "lr": args.lr,
        "device": str(device),
        "machine": _machine(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "test_words": len(test),
        "valid_curve": curve,
    }
    for name, decode in (("greedy", greedy), ("beam", beam)):
        per, wer = error_rates(model, test, letters, phones, decode)
        result[name] = {"per": per, "wer": wer}
        print(f"test ({len(test)} words), {name}: PER {per:.2%}  WER {wer:.2%}")
    result["beam_width"] = args.beam
    if args.record is not None:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(result, indent=1) + "\n")
        print(f"recorded in {args.record}")
    return result


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"{platform.machine()} CPU, {threads} thread{'' if threads == 1 else 's'}"


if __name__ == "__main__":
    main()
