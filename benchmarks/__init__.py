"""Benchmark support for bbb_xl: generator, naive reference loop, spreadsheet way, measuring helpers.

Nothing in here is imported by the product; see benchmarks/README.md.
"""
