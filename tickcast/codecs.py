"""The versioned state codec: every path that saves or restores a symbol's state uses it.

The changelog, registry checkpoints, warm starts and adoptions all read and write the same
bytes: a header, then the payload::

    b"TKST" | format version (u16, big-endian) | fingerprint of the core config (16 bytes) | payload

The fingerprint covers the whole core configuration (horizon, level, feature windows, model
specs, metric and selection settings, drift settings), so a state learned under one
configuration is never run under another: feature vectors of another width, another horizon's
targets or another level's calibration would be silently wrong. :func:`decode_state` refuses
such bytes with a :class:`StateMismatchError` whose reason is one log line; each caller has a
defined fallback (see ``docs/architecture.md``).
"""

from __future__ import annotations

import hashlib
import pickle
import struct

from tickcast.exceptions import TickcastError
from tickcast.online_model import CoreConfig, SymbolState

__all__ = [
    "FORMAT_VERSION",
    "StateMismatchError",
    "decode_state",
    "encode_state",
    "fingerprint",
    "key_partition",
]

MAGIC = b"TKST"
FORMAT_VERSION = 1  # payload: the state's attributes, pickled without its configuration
HEADER = struct.Struct(">4sH16s")
PICKLE_PROTOCOL = 5


class StateMismatchError(TickcastError):
    """Bytes that are not a state this process can run; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fingerprint(config: CoreConfig) -> bytes:
    """16 bytes that change whenever anything in the core configuration changes.

    >>> fingerprint(CoreConfig()) == fingerprint(CoreConfig())
    True
    >>> fingerprint(CoreConfig()) == fingerprint(CoreConfig(horizon=2))
    False
    """
    return hashlib.sha256(repr(config).encode()).digest()[:16]


def encode_state(state: SymbolState) -> bytes:
    """The state's bytes: header, then the payload (its configuration is in the header only)."""
    header = HEADER.pack(MAGIC, FORMAT_VERSION, fingerprint(state.config))
    return header + pickle.dumps(state, protocol=PICKLE_PROTOCOL)


def decode_state(data: bytes, config: CoreConfig) -> SymbolState:
    """The state in ``data``, to run under ``config``; StateMismatchError unless it was written by
    this format under the same configuration."""
    if len(data) < HEADER.size or data[:4] != MAGIC:
        raise StateMismatchError("not a tickcast state (no TKST header)")
    _, version, found = HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise StateMismatchError(f"state format {version}, this process reads {FORMAT_VERSION}")
    if found != fingerprint(config):
        raise StateMismatchError(
            f"written under another core configuration (fingerprint {found.hex()[:12]}, this "
            f"process {fingerprint(config).hex()[:12]}: horizon, level, windows, models or "
            "drift settings differ)"
        )
    state = pickle.loads(data[HEADER.size :])  # only tickcast's own writers make these bytes
    if not isinstance(state, SymbolState):
        raise StateMismatchError(f"the payload is a {type(state).__name__}, not a learner state")
    state.attach(config)
    return state


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of a keyed Kafka message: murmur2 of the key, as the Java client and
    kafka-python, aiokafka and librdkafka's ``murmur2_random`` compute it, so every writer of
    a symbol's messages (producers, the worker's outputs) and every reader that plans by it
    (warm starts for a worker's partitions) agree.

    >>> [key_partition(symbol, 4) for symbol in (b"AAPL", b"MSFT")]
    [1, 2]
    """
    from aiokafka.partitioner import murmur2

    return int((murmur2(key) & 0x7FFFFFFF) % partitions)
