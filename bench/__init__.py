"""Benchmarks (each prints its figures; results in RESULTS.md) and the article corpus they share with the tests."""
