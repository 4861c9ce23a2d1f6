"""Seed derivation for the SYNTHETIC market: stable across processes, platforms and Python versions."""

from __future__ import annotations

import hashlib

import numpy as np

#: Bump when the generator's output changes on purpose, so old and new paths never share seeds by accident.
_VERSION = "gpt-trader-synthetic/v1"


def derive_seed(*parts: object) -> int:
    """A 128-bit seed from ``parts`` via sha256 (never Python's salted ``hash()``)."""
    text = "|".join([_VERSION, *(str(part) for part in parts)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "little")


def rng_for(*parts: object) -> np.random.Generator:
    """An independent PCG64 generator for one stream identified by ``parts``."""
    return np.random.Generator(np.random.PCG64(derive_seed(*parts)))


def unit_from(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts`` (e.g. a symbol's starting price)."""
    return derive_seed(*parts) / 2.0**128
