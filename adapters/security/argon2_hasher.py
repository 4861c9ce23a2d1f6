"""``PasswordHasher`` with Argon2id (argon2-cffi).

Parameters (RFC 9106, section 4, the second recommended option for memory-constrained hosts):
Argon2id, time cost 3, memory 64 MiB, parallelism 4, 16-byte salt, 32-byte hash. One hash or verify
takes ~0.1 s of CPU on this class of machine (``tests/benchmarks/bench_auth.py`` prints the figure)
and runs in a worker thread: argon2-cffi releases the GIL, so the event loop keeps serving. The
parameters are encoded in every hash, so raising them later still verifies old hashes.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TIME_COST = 3
MEMORY_COST_KIB = 65_536
PARALLELISM = 4


class Argon2Hasher:
    """Argon2id hashing off the event loop; ``verify`` never raises for a wrong password."""

    def __init__(
        self, *, time_cost: int = TIME_COST, memory_cost: int = MEMORY_COST_KIB, parallelism: int = PARALLELISM
    ) -> None:
        self._argon2 = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    def __repr__(self) -> str:
        p = self._argon2
        return f"Argon2Hasher(argon2id, t={p.time_cost}, m={p.memory_cost} KiB, p={p.parallelism})"

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, encoded: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, encoded, password)

    def _verify(self, encoded: str, password: str) -> bool:
        try:
            return bool(self._argon2.verify(encoded, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
