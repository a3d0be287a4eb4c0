"""What the stream's process and the registry's child process tell each other, and the login
the child opens the registry with."""

from __future__ import annotations

from dataclasses import dataclass, field

from tickcast.config import redact
from tickcast.stores.registry import KEEP_VERSIONS, Registry

__all__ = ["Adoption", "Close", "Login", "Stats", "WarmReply", "WarmRequest"]


@dataclass(frozen=True)
class Login:
    """The registry's address and its user (``username`` empty: none)."""

    uri: str
    username: str = ""
    password: str = field(default="", repr=False)
    keep: int = KEEP_VERSIONS

    @property
    def address(self) -> str:
        """The address as log lines show it (a database URI's password masked)."""
        return redact(self.uri)

    def registry(self) -> Registry:
        return Registry(self.uri, self.username, self.password, self.keep)


@dataclass(frozen=True)
class WarmRequest:
    """Load the champions of the symbols whose key falls in ``partitions`` of ``total``."""

    request: int
    partitions: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class Close:
    timeout: float


@dataclass(frozen=True)
class Stats:
    """The child's counts since it started."""

    written: int = 0
    failures: int = 0  # failed attempts to reach MLflow (the checkpoint waited)
    refused: int = 0  # MLflow refused the checkpoint itself: dropped
    replaced: int = 0  # a newer checkpoint of the symbol took its place while it waited


@dataclass(frozen=True)
class WarmReply:
    request: int
    states: dict[str, tuple[int, bytes]]  # symbol -> (champion version, encoded state)


@dataclass(frozen=True)
class Adoption:
    """Someone moved a symbol's champion: the version and its encoded state."""

    symbol: str
    version: int
    state: bytes
