"""Benchmarks of toc's ingest, freshness and read paths; run with `make bench`."""
