"""The Cleo command line: ``gpt-trader`` (and ``python -m entrypoints``)."""
