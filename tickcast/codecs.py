"""The signed, versioned state codec: every path that saves or restores a symbol's state uses it.

The changelog, registry checkpoints, warm starts and adoptions all read and write the same
bytes: a header, then the payload::

    b"TKST" | format version (u16, big-endian) | fingerprint of the core config (16 bytes)
            | key id (8 bytes) | HMAC-SHA256 of everything else (32 bytes) | payload

The payload is the compiled learner's compact state (fixed-width arrays, about 6 KB for the
default model set, see ``rust/src/codec.rs``) and any River model pickled, LZ4-compressed.

State bytes come back from places others can write (a Kafka topic, an MLflow server), so
nothing in them is believed before the HMAC over header and payload checks out, in constant
time, under one of the keys this process accepts (the key id says which; the first key signs,
the others are still accepted while keys rotate). Only then is the size checked, the payload
decompressed and the River part unpickled, into an allowlist of classes (:mod:`tickcast.pickles`).

The fingerprint covers the whole core configuration (horizon, level, feature windows, model
specs, metric and selection settings, drift settings), so a state learned under one
configuration is never run under another: feature vectors of another width, another horizon's
targets or another level's calibration would be silently wrong. :meth:`StateCodec.decode`
refuses bytes it cannot trust or run with a :class:`StateRefusedError` whose reason is one log
line, and never raises anything else; each caller has a defined fallback (see
``docs/architecture.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Sequence

import lz4.block

from tickcast import pickles
from tickcast._core import SymbolCore
from tickcast.contract import STATE_FORMAT
from tickcast.exceptions import TickcastError
from tickcast.online_model import CoreConfig, SymbolState

__all__ = [
    "FORMAT_VERSION",
    "MAX_STATE_BYTES",
    "StateCodec",
    "StateRefusedError",
    "fingerprint",
    "key_id",
    "key_partition",
]

MAGIC = b"TKST"
# The contract's format (4: signed). Payload: LZ4 of (symbol, the compiled state's bytes, River's)
FORMAT_VERSION = STATE_FORMAT
HEADER = struct.Struct(">4sH16s8s32s")  # magic, version, fingerprint, key id, MAC
SIGNED = HEADER.size - 32  # the header's bytes before the MAC, which the MAC covers too
PARTS = struct.Struct("<HI")  # the symbol's and the compiled state's lengths
SIZE = struct.Struct("<I")  # LZ4's block prefix: the decompressed size
MAX_STATE_BYTES = 16 * 1024 * 1024  # decompressed: the default set is ~6 KB, a deep tree ~1 MB
MIN_KEY_BYTES = 32


class StateRefusedError(TickcastError):
    """Bytes that are not a state this process trusts and can run; ``reason`` says why in one
    line."""

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


def key_id(key: bytes) -> bytes:
    """8 bytes that name a key without revealing it (in the header, and in log lines as hex)."""
    return hashlib.sha256(b"tickcast state key id\0" + key).digest()[:8]


class StateCodec:
    """Encodes states signed with ``signing`` and decodes states signed with it or with any of
    ``accepted`` (older keys, while they rotate out)."""

    def __init__(self, signing: bytes, accepted: Sequence[bytes] = ()) -> None:
        if any(len(key) < MIN_KEY_BYTES for key in (signing, *accepted)):
            raise ValueError(f"a state key needs {MIN_KEY_BYTES} characters or more")
        self._signing = signing
        self._signing_id = key_id(signing)
        self._keys = {key_id(key): key for key in (*accepted, signing)}

    @classmethod
    def ephemeral(cls) -> StateCodec:
        """A codec with a key of its own, for runs that keep no state (a backtest, a test)."""
        return cls(secrets.token_bytes(MIN_KEY_BYTES))

    @property
    def key_id(self) -> str:
        """The signing key's id, in hex: what the startup line shows, never the key."""
        return self._signing_id.hex()

    def encode(self, state: SymbolState) -> bytes:
        """The state's bytes: the signed header, then the compressed payload (the state's
        configuration is in the header only, as a fingerprint)."""
        core = state.core.encode()
        symbol = state.symbol.encode()
        river = b"" if state.core.externals is None else pickles.dumps(state.core.externals)
        payload: bytes = lz4.block.compress(
            PARTS.pack(len(symbol), len(core)) + symbol + core + river
        )
        head = HEADER.pack(MAGIC, FORMAT_VERSION, fingerprint(state.config), self._signing_id, b"")
        signed = head[:SIGNED]
        return signed + self._mac(self._signing, signed, payload) + payload

    def decode(self, data: bytes, config: CoreConfig, symbol: str | None = None) -> SymbolState:
        """The state in ``data``, to run under ``config`` (for ``symbol``, when given: a
        genuine state of another symbol, stored under this one's key, is refused too).
        StateRefusedError unless it was signed with a key this codec accepts, in this format,
        under the same configuration, and decodes whole; nothing else escapes (a panic of the
        compiled decoder included)."""
        payload = self._verified(data)
        found = HEADER.unpack_from(data)[2]
        if found != fingerprint(config):
            raise StateRefusedError(
                f"written under another core configuration (fingerprint {found.hex()[:12]}, this "
                f"process {fingerprint(config).hex()[:12]}: horizon, level, windows, models or "
                "drift settings differ)"
            )
        try:
            state = _decoded(payload, config)
        except StateRefusedError:
            raise
        except BaseException as exc:  # a PanicException is a BaseException
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            raise StateRefusedError(f"the state does not decode: {reason}") from None
        if symbol is not None and state.symbol != symbol:
            raise StateRefusedError(f"the state is {state.symbol[:20]!r}'s, not {symbol!r}'s")
        return state

    def _verified(self, data: bytes) -> bytes:
        """The payload of ``data`` once its header and signature check out."""
        if len(data) < HEADER.size or data[:4] != MAGIC:
            raise StateRefusedError("not a tickcast state (no TKST header)")
        _, version, _, signer, mac = HEADER.unpack_from(data)
        if version != FORMAT_VERSION:
            raise StateRefusedError(
                f"state format {version}, this process reads {FORMAT_VERSION} (signed) only"
            )
        key = self._keys.get(signer)
        if key is None:
            raise StateRefusedError(
                f"signed with a key this process does not hold (key id {signer.hex()})"
            )
        payload = data[HEADER.size :]
        if not hmac.compare_digest(mac, self._mac(key, data[:SIGNED], payload)):
            raise StateRefusedError("the signature does not match: the state was altered or forged")
        return payload

    @staticmethod
    def _mac(key: bytes, head: bytes, payload: bytes) -> bytes:
        return hmac.new(key, head + payload, hashlib.sha256).digest()


def _decoded(payload: bytes, config: CoreConfig) -> SymbolState:
    """A verified payload as a state: size checked before anything is decompressed."""
    if len(payload) < SIZE.size or SIZE.unpack_from(payload)[0] > MAX_STATE_BYTES:
        raise StateRefusedError(f"the state decompresses past {MAX_STATE_BYTES} bytes")
    raw = lz4.block.decompress(payload)
    symbol_length, core_length = PARTS.unpack_from(raw)
    core_at = PARTS.size + symbol_length
    symbol = raw[PARTS.size : core_at].decode()
    core, river = raw[core_at : core_at + core_length], raw[core_at + core_length :]
    if len(core) != core_length:
        raise StateRefusedError("the state is truncated")
    externals = pickles.loads(river) if river else None
    return SymbolState(symbol, config, SymbolCore.decode(config.spec, core, externals))


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
