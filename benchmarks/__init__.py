"""Benchmarks: the gateways against raw httpx doing the identical HTTP exchanges.

Run ``python benchmarks/run.py [--quick|--smoke] [--json PATH]``; see ``docs/benchmarks.md``.
These are measurements, not tests: nothing here asserts a threshold.
"""
