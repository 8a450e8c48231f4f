"""Downhill's performance suite: `make bench` runs benchmarks/run.py (see README.md)."""
