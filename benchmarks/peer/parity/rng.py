"""Bit-exact Python copies of SerEngine's random number generation.

`Generator` is engine/SerEngine/Generator.cs (xoshiro256**, seeded through SplitMix64) and
`derive` / `generator` are models/SerEngine.Models/Data/Seeds.cs. All arithmetic is on Python
ints masked to 64 bits, so the same seed gives the same draws, shuffles and splits as ours.
"""
import math

import numpy as np

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix(z):
    """SplitMix64's finaliser (Seeds.Mix / Generator.SplitMix after the increment)."""
    z = (z + GOLDEN) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def derive(seed, *parts):
    """Seeds.Derive: a seed for the path `parts` (fold, purpose, ...) under `seed`."""
    h = _mix((seed ^ 0x5E55EED000000001) & MASK)
    for p in parts:
        h = _mix(h ^ _mix((p + GOLDEN) & MASK))
    return h


def generator(seed, *parts):
    """Seeds.Generator: a Generator for `parts` under `seed`."""
    return Generator(derive(seed, *parts))


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


class Generator:
    """xoshiro256** exactly as SerEngine.Generator."""

    def __init__(self, seed):
        x = seed & MASK
        state = []
        for _ in range(4):
            x = (x + GOLDEN) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            state.append(z ^ (z >> 31))
        self.s = state
        self._spare = None

    def next_u64(self):
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & MASK, 7) * 9) & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result

    def next_single(self):
        """Uniform float32 in [0, 1) with 24 random bits."""
        return np.float32(self.next_u64() >> 40) * np.float32(1.0 / (1 << 24))

    def next_double(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))

    def next_int(self, max_exclusive):
        """Uniform integer in [0, max_exclusive) (Lemire's multiply-shift on the high 32 bits)."""
        if max_exclusive <= 0:
            raise ValueError("max_exclusive must be positive")
        return (((self.next_u64() >> 32) * max_exclusive) & MASK) >> 32

    def next_normal(self):
        """Box-Muller in double, pairs cached, returned as float32 (Generator.NextNormal)."""
        if self._spare is not None:
            s, self._spare = self._spare, None
            return s
        u1 = 1.0 - self.next_double()
        u2 = self.next_double()
        r = math.sqrt(-2.0 * math.log(u1))
        self._spare = np.float32(r * math.sin(2 * math.pi * u2))
        return np.float32(r * math.cos(2 * math.pi * u2))

    def shuffle(self, items):
        """Fisher-Yates in place, from the end (Generator.Shuffle)."""
        for i in range(len(items) - 1, 0, -1):
            j = self.next_int(i + 1)
            items[i], items[j] = items[j], items[i]

    def uniform_array(self, n, low, high):
        """Tensor.RandomUniform's values: low + (high − low)·u in float32, drawn in order."""
        low, high = np.float32(low), np.float32(high)
        u = np.array([self.next_u64() >> 40 for _ in range(n)], dtype=np.float32) * np.float32(1.0 / (1 << 24))
        return low + (high - low) * u

    def normal_array(self, n, mean, std):
        """Tensor.RandomNormal's values: mean + std·NextNormal() in float32."""
        v = np.array([self.next_normal() for _ in range(n)], dtype=np.float32)
        return np.float32(mean) + np.float32(std) * v
