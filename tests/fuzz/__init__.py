"""Fuzz tests (Hypothesis): generated and mutated DAG files, state files, Dagster modules,
migration plans on small workspaces, and the language server over stdio.

Profiles (``AIRLIFT_FUZZ_PROFILE``): ``airlift-fuzz`` (the default: a fresh random run each
time), ``airlift-fuzz-ci`` (``derandomize=True``: the same examples on every run; chosen
automatically when ``CI`` is set) and ``airlift-fuzz-long`` (ten times the examples, for a
local bug hunt). ``AIRLIFT_FUZZ_SCALE`` multiplies every test's example count.
Inputs that found bugs live in ``tests/fixtures/fuzz_regressions/`` and are replayed by
``test_fuzz_regressions.py``.
"""
