"""The versioned state codec: every path that saves or restores a symbol's state uses it.

The changelog, registry checkpoints, warm starts and adoptions all read and write the same
bytes: a header, then the payload::

    b"TKST" | format version (u16, big-endian) | fingerprint of the core config (16 bytes) | payload

The payload is the compiled learner's compact state (fixed-width arrays, about 6 KB for the
default model set, see ``rust/src/codec.rs``) and any River model pickled, LZ4-compressed.

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

import lz4.block

from tickcast._core import SymbolCore
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
FORMAT_VERSION = 3  # 3: metric sums carry log loss. Payload: LZ4 of (symbol, the compiled
# state's bytes, River parts pickled)
HEADER = struct.Struct(">4sH16s")
PARTS = struct.Struct("<HI")  # the symbol's and the compiled state's lengths
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
    """The state's bytes: header, then the compressed payload (its configuration is in the
    header only, as a fingerprint)."""
    core = state.core.encode()
    symbol = state.symbol.encode()
    river = (
        b""
        if state.core.externals is None
        else pickle.dumps(state.core.externals, protocol=PICKLE_PROTOCOL)
    )
    payload: bytes = lz4.block.compress(PARTS.pack(len(symbol), len(core)) + symbol + core + river)
    return HEADER.pack(MAGIC, FORMAT_VERSION, fingerprint(state.config)) + payload


def decode_state(data: bytes, config: CoreConfig) -> SymbolState:
    """The state in ``data``, to run under ``config``; StateMismatchError unless it was written
    by this format under the same configuration."""
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
    try:
        payload = lz4.block.decompress(data[HEADER.size :])
        symbol_length, core_length = PARTS.unpack_from(payload)
        core_at = PARTS.size + symbol_length
        symbol = payload[PARTS.size : core_at].decode()
        core, river = payload[core_at : core_at + core_length], payload[core_at + core_length :]
        externals = pickle.loads(river) if river else None  # only tickcast writes these bytes
        return SymbolState(symbol, config, SymbolCore.decode(config.spec, core, externals))
    except (
        ValueError,
        struct.error,
        lz4.block.LZ4BlockError,
        pickle.UnpicklingError,
        UnicodeDecodeError,
    ) as exc:
        raise StateMismatchError(f"the state does not decode: {exc}") from None


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
