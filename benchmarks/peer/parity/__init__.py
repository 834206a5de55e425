"""PyTorch twin of `ser train` (SerEngine), for engine-parity comparisons.

Modules: rng (xoshiro256** and seed derivation, bit-exact with SerEngine), safetensors_io
(the safetensors format without the safetensors package), data (RAVDESS reader, splits, front
ends), fcn / fca (the two networks), train (the fold loop), checkstep (one-step parity against
a `ser train --dump-step` file).
"""
