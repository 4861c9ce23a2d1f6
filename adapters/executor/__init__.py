"""Executors: where CPU-bound work runs (in-process, a local process pool, a Dask cluster).

``DaskExecutor`` imports dask only when first used (``pip install 'gpt-trader[dask]'``).
"""

from adapters.executor.dask import DaskExecutor
from adapters.executor.local import (
    ExecutorClosedError,
    InlineExecutor,
    LocalProcessExecutor,
    RemoteJobError,
    chunk_size,
)

__all__ = [
    "DaskExecutor",
    "ExecutorClosedError",
    "InlineExecutor",
    "LocalProcessExecutor",
    "RemoteJobError",
    "chunk_size",
]
