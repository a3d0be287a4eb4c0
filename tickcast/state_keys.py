"""The keys that sign states, from settings or, for local runs, a file made once.

Every worker of one app must sign with the same key (a state written by one is read by the next
owner of its partition), and so must a replay whose checkpoints a worker warm-starts from. In
the stack the key is a secret the operator sets (``TICKCAST_STATE_KEY``; older keys stay
accepted in ``TICKCAST_STATE_KEYS_ACCEPTED`` while they rotate out). Without one, processes
started in the same directory share a key generated in ``TICKCAST_STATE_KEY_FILE``
(``./data/state.key``, mode 0600), so ``make demo``, a worker and ``--serve`` work as before;
``TICKCAST_ENVIRONMENT=production`` refuses to make one.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from tickcast.codecs import MIN_KEY_BYTES, StateCodec
from tickcast.config import Settings
from tickcast.exceptions import ConfigError

__all__ = ["state_codec"]

log = logging.getLogger(__name__)


def state_codec(settings: Settings) -> StateCodec:
    """The codec that signs with the configured key (or the local file's) and accepts the
    older keys too."""
    listed = settings.state_keys_accepted.get_secret_value().split(",")
    accepted = [key.strip().encode() for key in listed if key.strip()]
    given = settings.state_key.get_secret_value().encode()
    if given:
        signing = given
    elif settings.environment == "production":
        raise ConfigError(
            "TICKCAST_STATE_KEY is required in production: every worker of an app must sign "
            "states with the same secret (generate one: python -c 'import secrets; "
            "print(secrets.token_hex(32))')"
        )
    else:
        signing = _local_key(Path(settings.state_key_file))
    try:
        return StateCodec(signing, accepted)
    except ValueError as exc:
        raise ConfigError(f"TICKCAST_STATE_KEY or TICKCAST_STATE_KEYS_ACCEPTED: {exc}") from None


def _local_key(path: Path) -> bytes:
    """The key in ``path``, made (random, mode 0600) when there is none yet. Two processes
    starting at once agree: the key is written whole to a file of its own, then linked into
    place, which fails for the second."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
        try:
            os.link(draft, path)
            log.info("made a state key in %s (mode 0600): processes here share it", path)
        except FileExistsError:  # another process made it meanwhile: theirs holds
            pass
        finally:
            draft.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_bytes().strip()
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"{path} is readable by other users (mode {mode:o}): chmod 600 {path}, or set "
            "TICKCAST_STATE_KEY"
        )
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{path} holds no key of {MIN_KEY_BYTES} characters or more")
    return key
