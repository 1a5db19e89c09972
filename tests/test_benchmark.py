"""The benchmarks stay runnable: tiny runs of `benchmarks.bench_rnn` and `benchmarks.g2p_long`."""

import json
import math
from pathlib import Path

from benchmarks import bench_rnn


def test_tiny_benchmark_run_reports_a_ratio_for_every_layer(capsys):
    args = ["--sizes", "4,8,5,2", "--reps", "1", "--warmup", "0", "--devices", "cpu"]
    rows = bench_rnn.main(args)
    assert {row["layer"] for row in rows} == {"LSTM", "GRU", "RNN"}
    assert all(math.isfinite(row["ratio"]) and row["ratio"] > 0 for row in rows)
    assert "ratio" in capsys.readouterr().out


def test_the_matrix_product_floor_is_timed_and_below_the_layer(capsys):
    args = ["--sizes", "4,8,5,2", "--reps", "3", "--warmup", "1", "--devices", "cpu",
            "--layers", "lstm", "--floor"]
    (row,) = bench_rnn.main(args)
    assert 0 < row["floor_ms"] < row["rnnlib_ms"]  # the products are part of the layer's work
    assert math.isfinite(row["floor_ratio"]) and "products ms" in capsys.readouterr().out


def test_tiny_g2p_long_run_records_what_chapter_09_reads(tmp_path, capsys):
    from benchmarks import g2p_long

    out = tmp_path / "g2p.json"
    args = ["--updates", "2", "--hidden", "8", "--batch", "4", "--valid-words", "5",
            "--test-words", "5", "--beam", "2", "--device", "cpu", "--record", str(out)]
    result = g2p_long.main(args)
    recorded = json.loads(out.read_text())
    assert recorded == json.loads(json.dumps(result))
    assert recorded["updates"] == 2 and recorded["test_words"] == 5
    for decode in ("greedy", "beam"):
        assert 0 <= recorded[decode]["per"] and 0 <= recorded[decode]["wer"] <= 1
    assert recorded["valid_curve"][-1][1] == 2  # evaluated at the last update
    assert "recorded in" in capsys.readouterr().out


def test_the_recorded_long_g2p_run_has_what_chapter_09_quotes():
    path = Path(__file__).parents[1] / "benchmarks" / "results" / "g2p_long.json"
    recorded = json.loads(path.read_text())
    for key in ("date", "minutes", "updates", "epochs", "hidden", "batch", "machine", "torch",
                "test_words", "valid_curve", "greedy", "beam", "beam_width"):
        assert key in recorded, key
    assert recorded["beam"]["per"] <= recorded["greedy"]["per"] + 0.01
