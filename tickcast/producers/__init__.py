"""Tick sources (replay files, synthetic, the bundled sample, yfinance) as raw records."""

from tickcast.producers.sample import SAMPLE_SYMBOLS, sample_records
from tickcast.producers.synthetic import live_ticks, synthetic_ticks
from tickcast.producers.tick_files import ReplayError, paced, read_records, replay_records

__all__ = [
    "SAMPLE_SYMBOLS",
    "ReplayError",
    "live_ticks",
    "paced",
    "read_records",
    "replay_records",
    "sample_records",
    "synthetic_ticks",
]
