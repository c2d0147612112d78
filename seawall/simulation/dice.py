"""Fast scalar random draws from one seeded numpy ``Generator``.

Calling the generator for one number at a time costs about a microsecond, which dominates a
simulation of millions of events; :class:`Dice` draws blocks of uniforms and normals at once
and hands them out one by one. The sequence depends only on the seed and the order of calls,
so a run is reproducible.

>>> import numpy as np
>>> d = Dice(np.random.default_rng(7))
>>> 0.0 <= d.u() < 1.0
True
>>> len(set(d.sample(range(10), 3)))
3
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

__all__ = ["Dice"]

T = TypeVar("T")
_BLOCK = 1 << 16


class Dice:
    """Scalar draws (uniform, normal, lognormal, choice) buffered from ``rng``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._u: list[float] = []
        self._n: list[float] = []

    def u(self) -> float:
        """Uniform in [0, 1)."""
        if not self._u:
            self._u = self.rng.random(_BLOCK).tolist()
        return self._u.pop()

    def normal(self) -> float:
        if not self._n:
            self._n = self.rng.standard_normal(_BLOCK).tolist()
        return self._n.pop()

    def chance(self, p: float) -> bool:
        return self.u() < p

    def below(self, n: int) -> int:
        """Integer in [0, n)."""
        return int(self.u() * n)

    def between(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.u()

    def int_between(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi] inclusive."""
        return lo + int(self.u() * (hi - lo + 1))

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def exponential(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def choice(self, seq: Sequence[T]) -> T:
        return seq[int(self.u() * len(seq))]

    def weighted(self, seq: Sequence[T], weights: Sequence[float]) -> T:
        x = self.u() * sum(weights)
        for item, w in zip(seq, weights, strict=True):
            x -= w
            if x < 0:
                return item
        return seq[-1]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """``k`` distinct items (all of them, shuffled, when ``k >= len(seq)``)."""
        n = len(seq)
        if k >= n or k > n // 3:
            idx = self.rng.permutation(n)[: min(k, n)].tolist()
            return [seq[i] for i in idx]
        picked: set[int] = set()
        out: list[T] = []
        while len(out) < k:
            i = int(self.u() * n)
            if i not in picked:
                picked.add(i)
                out.append(seq[i])
        return out

    def partition(self, total: int, lo: int, hi: int) -> list[int]:
        """Sizes in [lo, hi] adding up to ``total`` (the last absorbs a remainder < lo)."""
        sizes: list[int] = []
        left = total
        while left >= lo:
            size = min(self.int_between(lo, hi), left)
            if left - size < lo:
                size = left
            sizes.append(size)
            left -= size
        if left:
            if sizes:
                sizes[-1] += left
            else:
                sizes.append(left)
        return sizes
