"""Speed benchmarks, printed as ratios against a reference measured in the same run.

Run all with ``make bench`` (or ``python -m benchmarks``); one with
``python -m benchmarks forward``.
"""
