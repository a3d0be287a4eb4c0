"""One back-off policy for every write that can fail and come back.

A transient failure (:class:`~tickcast.exceptions.TransientWriteError`, or any error a target
raises that it did not class as permanent) waits and is tried again, the wait doubling up to a
cap; one that goes on for ``give_up_s`` counts as permanent. A
:class:`~tickcast.exceptions.PermanentWriteError` is raised at once: retrying would only
repeat it. So is a defect in the write itself (a missing key, a wrong type): an outage
passes, a bug does not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from tickcast.events import emit
from tickcast.exceptions import PermanentWriteError

__all__ = ["Backoff", "retry"]

log = logging.getLogger(__name__)

DEFECTS = (LookupError, TypeError, AttributeError, NameError, AssertionError, NotImplementedError)


@dataclass(frozen=True)
class Backoff:
    """Waits of ``first_s``, doubling up to ``max_s``, for at most ``give_up_s`` in all.

    >>> [round(d, 1) for d, _ in zip(Backoff(0.5, max_s=4).delays(), range(6))]
    [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    """

    first_s: float = 0.5
    max_s: float = 10.0
    give_up_s: float = 300.0

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = float(min(delay * 2, self.max_s))


async def retry(what: str, write: Callable[[], Awaitable[None]], backoff: Backoff) -> None:
    """Run ``write`` until it succeeds; transient failures wait (``what`` names the target in
    the log), a permanent one, or one that lasts past ``give_up_s``, is raised."""
    started = time.monotonic()
    for delay in backoff.delays():
        try:
            await write()
            return
        except PermanentWriteError:
            raise
        except DEFECTS as exc:
            raise PermanentWriteError(f"writing {what} fails on a defect: {exc!r}") from exc
        except Exception as exc:  # down, slow, busy: wait and try again
            failing_for = time.monotonic() - started
            if failing_for + delay > backoff.give_up_s:
                raise PermanentWriteError(
                    f"writing {what} still fails after {failing_for:.0f} s: {exc}"
                ) from exc
            emit(
                log,
                "write_retried",
                "writing %s failed (%s); retrying in %.1f s",
                what,
                exc,
                delay,
                level=logging.ERROR,
                what=what,
                delay_s=delay,
            )
            await asyncio.sleep(delay)
