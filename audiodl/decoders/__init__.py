"""Decoders: activations -> results (numpy/numba only, never torch)."""

from .smoothing import (decode_segments, drop_short, fill_gaps, frames_to_intervals, hysteresis,
                        median_filter, viterbi_binary)

__all__ = ["decode_segments", "median_filter", "hysteresis", "viterbi_binary",
           "frames_to_intervals", "fill_gaps", "drop_short"]
