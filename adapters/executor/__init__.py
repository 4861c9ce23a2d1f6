"""Executors: where CPU-bound work runs (in-process, a local process pool, later Dask)."""
