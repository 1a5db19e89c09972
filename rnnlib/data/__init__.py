"""Data sets the chapters use: generated here, or loaded from a package, never downloaded."""

from rnnlib.data import batching, cmudict, digits, mnist, series, speech, text
from rnnlib.data.synthetic import ADDING_BASELINE_MSE, adding_problem, recall_task

__all__ = [
    "ADDING_BASELINE_MSE",
    "adding_problem",
    "batching",
    "cmudict",
    "digits",
    "mnist",
    "recall_task",
    "series",
    "speech",
    "text",
]
