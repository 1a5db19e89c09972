"""The benchmark stays runnable: a tiny run of `python -m benchmarks.bench_rnn`."""

import math

from benchmarks import bench_rnn


def test_tiny_benchmark_run_reports_a_ratio_for_every_layer(capsys):
    args = ["--sizes", "4,8,5,2", "--reps", "1", "--warmup", "0", "--devices", "cpu"]
    rows = bench_rnn.main(args)
    assert {row["layer"] for row in rows} == {"LSTM", "GRU", "RNN"}
    assert all(math.isfinite(row["ratio"]) and row["ratio"] > 0 for row in rows)
    assert "ratio" in capsys.readouterr().out
