"""The runtime's order (outputs, then states, then acknowledgements) with in-memory adapters:
the same Runtime the worker and the embedded runner use, in milliseconds, without a broker."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tickcast import bootstrap
from tickcast.exceptions import PermanentWriteError, TransientWriteError
from tickcast.online_model import CoreConfig
from tickcast.retry import Backoff, retry
from tickcast.stores.latest import InMemoryLatestStore
from tickcast.stream_processors import MemorySink, Outputs, Runtime

NOW_MS = 1_800_000_000_000
FAST = Backoff(first_s=0.001, max_s=0.002, give_up_s=0.05)


class Journal:
    """What happened, in order, over every adapter of one test."""

    def __init__(self) -> None:
        self.entries: list[str] = []


class RecordingSink:
    """A sink that fails its first ``failures`` writes the way it is told, then succeeds."""

    def __init__(
        self,
        name: str,
        journal: Journal,
        failures: int = 0,
        error: type[Exception] = TransientWriteError,
    ) -> None:
        self.name = name
        self.journal = journal
        self.failures = failures
        self.error = error
        self.written: list[int] = []

    def part(self, outputs: Outputs) -> int:
        return outputs.rows("forecasts")

    async def write(self, part: int) -> None:
        await asyncio.sleep(0)
        if self.failures:
            self.failures -= 1
            self.journal.entries.append(f"{self.name} failed")
            raise self.error(f"{self.name} refused")
        self.written.append(part)
        self.journal.entries.append(f"{self.name} wrote")


class RecordingStates:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.states: dict[str, bytes] = {}

    def part(self, states: dict[str, bytes]) -> dict[str, bytes]:
        return states

    async def write(self, part: dict[str, bytes]) -> None:
        self.states |= part
        self.journal.entries.append(f"states of {','.join(sorted(part))}")


def ticks(n: int, symbols: tuple[str, ...] = ("AAPL", "MSFT")) -> list[dict[str, Any]]:
    return [
        {"symbol": s, "ts": NOW_MS + i, "price": 100.0 + (i % 7)} for i in range(n) for s in symbols
    ]


def runtime_of(journal: Journal, *sinks: Any, latest: Any = None) -> Runtime:
    runtime = bootstrap.runtime(
        CoreConfig(),
        sinks,
        latest=latest,
        backoff=FAST,
        states=RecordingStates(journal),
        clock=lambda: NOW_MS / 1000,
    )
    return runtime


async def test_outputs_then_states_then_acknowledgements() -> None:
    journal = Journal()
    runtime = runtime_of(journal, RecordingSink("topic", journal), RecordingSink("db", journal))
    runtime.process(ticks(5))

    async def ack(event: Any) -> None:
        journal.entries.append(f"ack {event}")

    runtime.ack = ack
    runtime.hold(["e1", "e2"])
    await runtime.flush()
    await runtime.wait_completed()
    assert sorted(journal.entries[:2]) == ["db wrote", "topic wrote"]
    assert journal.entries[2:] == ["states of AAPL,MSFT", "ack e1", "ack e2"]


class RecordingCheckpoints:
    """The registry's side: checkpoints handed over, and how often it was heard."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.heard = 0

    def hear(self) -> None:
        self.heard += 1

    async def write(self, part: list[Any]) -> None:
        symbols = ",".join(sorted({checkpoint.symbol for checkpoint in part}))
        self.journal.entries.append(f"checkpoints of {symbols}")


async def test_the_declared_sequence_puts_checkpoints_after_states_and_before_acks() -> None:
    journal = Journal()
    runtime = runtime_of(journal, RecordingSink("db", journal))
    checkpoints = RecordingCheckpoints(journal)
    runtime.checkpoints = checkpoints
    runtime.pipeline.cadence = (3, 0, 0)  # a checkpoint every 3 labels

    async def ack(event: Any) -> None:
        journal.entries.append(f"ack {event}")

    runtime.ack = ack
    runtime.process(ticks(5), events=["e"])  # 4 labels a symbol: one checkpoint each
    await runtime.flush()
    await runtime.wait_completed()
    assert journal.entries == [
        "db wrote",
        "states of AAPL,MSFT",
        "checkpoints of AAPL,MSFT",
        "ack e",
    ]
    assert checkpoints.heard == 1  # what the registry said is read at every cut


async def test_a_batch_is_cut_when_full_or_after_its_interval() -> None:
    runtime = runtime_of(Journal(), RecordingSink("db", Journal()))
    runtime.flush_max_rows, runtime.flush_interval_s = 10, 3600.0
    await runtime.offer(ticks(4))  # 8 messages
    assert runtime.rows == 8
    await runtime.offer(ticks(1))  # 10: full
    assert runtime.rows == 0
    await runtime.wait_completed()
    runtime.flush_interval_s = 0.0
    await runtime.offer(ticks(1))  # any message after the interval
    assert runtime.rows == 0


async def test_a_transient_failure_is_retried_before_anything_later_happens() -> None:
    journal = Journal()
    flaky = RecordingSink("db", journal, failures=2)
    runtime = runtime_of(journal, flaky)
    runtime.process(ticks(3))
    acked: list[Any] = []

    async def ack(event: Any) -> None:
        acked.append(event)

    runtime.ack = ack
    runtime.hold(["e"])
    await runtime.flush()
    await runtime.wait_completed()
    assert journal.entries == ["db failed", "db failed", "db wrote", "states of AAPL,MSFT"]
    assert flaky.written == [3 * 2 * len(CoreConfig().forecasters)]
    assert acked == ["e"]


async def test_a_defect_in_a_write_stops_at_once_instead_of_retrying_for_minutes() -> None:
    calls: list[int] = []

    async def write() -> None:
        calls.append(1)
        raise KeyError("log_loss")  # found: a sink's missing column retried for 5 minutes

    with pytest.raises(PermanentWriteError, match="defect: KeyError"):
        await retry("memory", write, Backoff(0.01, give_up_s=60))
    assert calls == [1]


@pytest.mark.parametrize("error", [PermanentWriteError, TransientWriteError, KeyError])
async def test_a_refused_write_writes_no_state_and_acknowledges_nothing(
    error: type[Exception],
) -> None:
    journal = Journal()
    runtime = runtime_of(journal, RecordingSink("db", journal, failures=10**6, error=error))
    runtime.process(ticks(3))
    acked: list[Any] = []

    async def ack(event: Any) -> None:
        acked.append(event)

    runtime.ack = ack
    runtime.hold(["e"])
    await runtime.flush()
    with pytest.raises(PermanentWriteError):  # a transient one that lasts becomes permanent
        await runtime.wait_completed()
    assert not any(entry.startswith("states") for entry in journal.entries)
    assert acked == []


async def test_the_latest_forecasts_are_written_at_the_cut_while_a_write_hangs() -> None:
    journal = Journal()
    hold = asyncio.Event()

    class Stuck(RecordingSink):
        async def write(self, part: int) -> None:
            await hold.wait()
            await super().write(part)

    latest = InMemoryLatestStore()
    runtime = runtime_of(journal, Stuck("db", journal), latest=latest)
    runtime.process(ticks(2, ("AAPL",)))
    await runtime.flush()
    runtime.process([{"symbol": "AAPL", "ts": NOW_MS + 10, "price": 101.0}])
    assert runtime.publish_latest() == 1  # the batch before is still being written
    stored = latest.get("AAPL")
    assert stored is not None
    assert stored.ts == NOW_MS + 10
    hold.set()
    await runtime.flush()
    await runtime.wait_completed()
    assert journal.entries.count("db wrote") == 2


async def test_one_completion_at_a_time_keeps_states_in_order() -> None:
    journal = Journal()
    runtime = runtime_of(journal, RecordingSink("db", journal))
    for i in range(3):
        runtime.process([{"symbol": f"S{i}", "ts": NOW_MS, "price": 1.0}])
        await runtime.flush()
    await runtime.wait_completed()
    states = [e for e in journal.entries if e.startswith("states")]
    assert states == ["states of S0", "states of S1", "states of S2"]


async def test_a_memory_sink_sees_every_output_once() -> None:
    memory = MemorySink()
    runtime = bootstrap.runtime(CoreConfig(), [memory], clock=lambda: NOW_MS / 1000)
    for chunk in range(4):
        runtime.process(ticks(10)[chunk * 5 : chunk * 5 + 5])
        await runtime.flush()
    await runtime.wait_completed()
    assert len(memory.ticks) == 20
    assert len({(t.symbol, t.ts) for t in memory.ticks}) == 20


class SlowStore(InMemoryLatestStore):
    """A latest store across a network: its writes wait until ``answer`` is set, and fail while
    ``down``."""

    blocking = True

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()
        self.down = False

    def put_many(self, forecasts: Any) -> None:
        self.answer.wait(5)
        if self.down:
            raise ConnectionError("connection refused")
        super().put_many(forecasts)


async def test_a_slow_latest_store_never_holds_the_loop_and_gets_the_newest() -> None:
    store = SlowStore()
    runtime = runtime_of(Journal(), latest=store)
    for i in range(3):
        runtime.process([{"symbol": "AAPL", "ts": NOW_MS + i, "price": 100.0 + i}])
        runtime.publish_latest()  # the store does not answer: this returns without it
    assert store.get("AAPL") is None  # published three times, and not one write has been made
    store.answer.set()
    await runtime.drain_latest(5)
    stored = store.get("AAPL")
    assert stored is not None
    assert stored.ts == NOW_MS + 2


async def test_a_failed_latest_write_is_kept_for_the_next() -> None:
    store = SlowStore()
    store.answer.set()
    store.down = True
    runtime = runtime_of(Journal(), latest=store)
    runtime.process([{"symbol": "AAPL", "ts": NOW_MS, "price": 100.0}])
    await runtime.drain_latest(5)
    assert store.get("AAPL") is None
    assert runtime.latest is not None
    assert runtime.latest.failures == 1
    store.down = False
    await runtime.drain_latest(5)
    stored = store.get("AAPL")
    assert stored is not None
    assert stored.ts == NOW_MS
