"""Imports every module that registers a benchmark suite (one line per suite module)."""
