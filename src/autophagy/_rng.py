"""Random streams: every draw flows from the run's seed.

A stream is named by ``(seed, generation, role)`` and derived with
``numpy.random.SeedSequence(seed, spawn_key=(generation, role_id))``. Streams are therefore
independent of one another and of the order in which they are asked for, so a resumed run
draws exactly what an uninterrupted one does. Repeat ``r`` of a run with seed ``s`` uses seed
``s + r``: a run with ``repeats: 3`` gives the same rows as three runs with seeds s, s+1, s+2.
:class:`Streams` gives the same streams as :func:`stream`, seeded in blocks, for code that asks
for a few streams every generation of a fast step.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

#: Fixed ids for the roles a stream can play; never renumber (results depend on them).
ROLES: dict[str, int] = {
    "real_fixed": 0,  # the fixed real set D_r
    "real_fresh": 1,  # fresh real samples of one generation
    "synthetic": 2,  # samples drawn from earlier generators for the training set
    "fit": 3,  # randomness inside Generator.fit (EM initialisation, ...)
    "holdout": 4,  # held-out real samples used by the metrics
    "eval": 5,  # generated samples used by the metrics
    "metric": 6,  # randomness inside metrics (sliced Wasserstein projections)
    "subsample": 7,  # the training subset of accumulate_subsample
    "curate": 8,  # randomness of the synthetic-sample stages (filters, resampling, corrections)
    "verifier": 9,  # the real reference set a mitigation stage holds (drawn once, generation 0)
    "human": 10,  # a web's human items: the initial pool (generation 0) and each generation's arrivals
    "draw": 11,  # a web lineage's draw from the pool (batch = the lineage)
    "publish": 12,  # a web lineage's published samples (batch = the lineage)
    "evict": 13,  # a web pool's uniform eviction
}


def stream(seed: int, generation: int, role: str, *, batch: int | None = None) -> np.random.Generator:
    """Return the generator for one named stream.

    Args:
        seed: the seed of one repeat (non-negative int).
        generation: generation index (0 for draws made before the loop starts).
        role: one of :data:`ROLES`.
        batch: an extra index making independent streams of the same (seed, generation,
            role): a Monte-Carlo calculator's batch of repeats, or a web simulation's lineage.
    """
    key: tuple[int, ...] = (int(generation), ROLES[role])
    if batch is not None:
        key = (*key, int(batch))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


# -- many streams at once -------------------------------------------------------------------------
# ``stream`` costs ~10 µs, most of it SeedSequence's entropy mixing and ``generate_state`` (each a
# Python-level call on a few words). An engine that asks for a handful of streams per generation
# of a fast batched step pays that every generation, so :class:`Streams` runs the same mixing,
# vectorised with NumPy over every (generation, role) of a block of generations, and seeds each
# PCG64 from its precomputed words: the very same streams (checked against SeedSequence on first
# use; a mismatch falls back to :func:`stream`).

_MASK32 = 0xFFFFFFFF
_POOL_SIZE = 4  # SeedSequence's default pool size (128 bits)
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875  # SeedSequence's hashmix constants
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED  # ... and generate_state's
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_BLOCK = 256  # generations seeded together


def _uint32_words(n: int) -> list[int]:
    """A non-negative int as uint32 words, lowest first (``0`` is one word), as SeedSequence reads it."""
    words = [n & _MASK32]
    n >>= 32
    while n:
        words.append(n & _MASK32)
        n >>= 32
    return words


def _seed_words(seed: int, keys: np.ndarray) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=key).generate_state(4, np.uint64)`` for every row of ``keys``.

    The algorithm of ``numpy.random.SeedSequence`` (O'Neill's seed_seq alternative): the run
    entropy (padded to the pool size, as it is whenever a spawn key is given) is hashed into a
    4-word pool and mixed (Python ints: the same for every key), then each key word is hashed
    and mixed into every pool word, and the pool is hashed out into 8 words read as 4
    little-endian uint64 (uint32 arrays, one lane per key).

    Args:
        seed: the run entropy (non-negative int).
        keys: spawn keys, shape (S, K), every entry in [0, 2**32).

    Returns:
        shape (S, 4), uint64: the words PCG64 seeds itself from.
    """
    run = _uint32_words(seed)
    run += [0] * (_POOL_SIZE - len(run))
    hash_consts = _hash_consts()

    def hashmix(value: int) -> int:
        before, after = next(hash_consts)
        value = ((value ^ before) * after) & _MASK32
        return value ^ (value >> 16)

    def mix(x: int, y: int) -> int:
        result = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _MASK32
        return result ^ (result >> 16)

    pool = [hashmix(word) for word in run[:_POOL_SIZE]]
    for src in range(_POOL_SIZE):
        for dst in range(_POOL_SIZE):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for word in run[_POOL_SIZE:]:
        for dst in range(_POOL_SIZE):
            pool[dst] = mix(pool[dst], hashmix(word))
    # The key words, one lane per key, every pool word at once: the hash of a key word depends
    # only on the (data-independent) hash constant, so the 4 updates of one word are independent.
    # uint32 arithmetic wraps like the C code's.
    shift = np.uint32(16)
    lanes = np.asarray(pool, dtype=np.uint32)[:, None]  # (4, 1), then (4, S)
    for j in range(keys.shape[1]):
        before, after = (np.asarray(c, dtype=np.uint32)[:, None] for c in zip(*(next(hash_consts) for _ in range(_POOL_SIZE)), strict=True))
        value = (np.asarray(keys[:, j], dtype=np.uint32) ^ before) * after  # (4, S)
        value ^= value >> shift
        mixed = np.uint32(_MIX_MULT_L) * lanes - np.uint32(_MIX_MULT_R) * value
        lanes = mixed ^ (mixed >> shift)
    # generate_state(4, uint64): 8 uint32 words hashed out of the pool words 0, 1, 2, 3, 0, 1, 2, 3
    value = (lanes[_OUT_WORDS] ^ _OUT_CONSTS[0]) * _OUT_CONSTS[1]  # (8, S)
    value ^= value >> shift
    return np.ascontiguousarray(value.T, dtype="<u4").view("<u8").astype(np.uint64)


def _out_consts() -> np.ndarray:
    """generate_state's (xor, multiplier) constants for its 8 words, shape (2, 8, 1) uint32."""
    pairs, const = [], _INIT_B
    for _ in range(8):
        nxt = (const * _MULT_B) & _MASK32
        pairs.append((const, nxt))
        const = nxt
    return np.asarray(pairs, dtype=np.uint32).T[:, :, None]


_OUT_WORDS = np.arange(8) % _POOL_SIZE
_OUT_CONSTS = _out_consts()


def _hash_consts() -> Iterator[tuple[int, int]]:
    """hashmix's (xor, multiplier) pairs in call order: its constant is data-independent, it
    starts at INIT_A and is multiplied by MULT_A at every call."""
    const = _INIT_A
    while True:
        nxt = (const * _MULT_A) & _MASK32
        yield const, nxt
        const = nxt


class _SeededWords(ISpawnableSeedSequence):
    """The seed sequence of stream (seed, key) with its PCG64 words already computed; spawning
    (and everything else a seed sequence is asked) is delegated to the real SeedSequence."""

    def __init__(self, words: np.ndarray, seed: int, key: tuple[int, ...]) -> None:
        self.words, self.seed, self.key = words, seed, key
        self._real: np.random.SeedSequence | None = None

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words == 4 and np.dtype(dtype) == np.uint64:
            return self.words
        return self.real.generate_state(n_words, dtype)

    def spawn(self, n_children: int) -> list[np.random.SeedSequence]:  # type: ignore[override]
        return self.real.spawn(n_children)  # real SeedSequences, as stream()'s would spawn

    @property
    def real(self) -> np.random.SeedSequence:
        if self._real is None:
            self._real = np.random.SeedSequence(self.seed, spawn_key=self.key)
        return self._real


class Streams:
    """``streams(generation, role)`` is :func:`stream` ``(seed, generation, role)``, ~8x cheaper.

    The seed words of every role of a block of 256 generations are computed together on first
    use (:func:`_seed_words`); each call then only builds the PCG64 and its Generator. Every call
    returns a new Generator at the start of its stream, as :func:`stream` does.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._blocks: dict[int, np.ndarray] = {}  # block -> words (_BLOCK, len(ROLES), 4)
        self._exact = _fast_seeding_matches()

    def __call__(self, generation: int, role: str) -> np.random.Generator:
        generation, role_id = int(generation), ROLES[role]
        if not self._exact or not 0 <= generation < 2**32 - _BLOCK:  # keys are uint32
            return stream(self.seed, generation, role)
        block, offset = divmod(generation, _BLOCK)
        words = self._blocks.get(block)
        if words is None:
            keys = np.empty((_BLOCK, len(ROLES), 2), dtype=np.uint32)  # (generation, role id)
            keys[:, :, 0] = np.arange(block * _BLOCK, (block + 1) * _BLOCK)[:, None]
            keys[:, :, 1] = list(ROLES.values())
            words = _seed_words(self.seed, keys.reshape(-1, 2)).reshape(_BLOCK, len(ROLES), 4)
            self._blocks[block] = words
        seed_seq = _SeededWords(words[offset, role_id], self.seed, (generation, role_id))
        return np.random.Generator(np.random.PCG64(seed_seq))  # type: ignore[arg-type]  # any ISeedSequence


@functools.cache
def _fast_seeding_matches() -> bool:
    """Whether :func:`_seed_words` reproduces this NumPy's SeedSequence + PCG64 seeding (it has
    since NumPy 1.17; checked once per process on a few seeds and keys, large ones included)."""
    cases = [(0, (0, 0)), (7, (3, 2)), (2**32 + 5, (1, 8)), (2**130 + 3, (2**32 - 1, 4)), (123456789, (99, 1))]
    for seed, key in cases:
        words = _seed_words(seed, np.asarray([key], dtype=np.uint64))[0]
        fast = np.random.PCG64(_SeededWords(words, seed, key))  # type: ignore[arg-type]
        if fast.state != np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)).state:
            return False
    return True
