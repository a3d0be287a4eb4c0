"""Publish ticks to Kafka: key = symbol, JSON values, produce time header.

Every record is validated by :func:`tickcast.records.parse_tick` before it is published, with
the one serialiser in records.py; a record that fails goes to the dead-letter topic with its
reason in a header, never silently away. Topics are created when missing.

The producer is confluent-kafka (librdkafka): batching, compression and retries run in C
threads, so publishing costs the Python side about a microsecond per tick. kafka-python did
the same in Python at about a quarter of the rate. Delivery is idempotent (retries neither
duplicate nor reorder a symbol's ticks) and retried until ``DELIVERY_TIMEOUT_MS``: a broker
restart loses nothing; what still fails is counted and logged.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from tickcast.config import KafkaAuth
from tickcast.messages import dumps
from tickcast.monitor.prometheus import PUBLISHED
from tickcast.records import InvalidTickError, parse_tick

__all__ = ["CODE", "PRODUCED_AT", "REASON", "TickPublisher", "ensure_topics"]

log = logging.getLogger(__name__)
PRODUCED_AT = "produced_at"  # header: wall-clock ms when the producer sent the tick
REASON = "reason"  # header on dead letters: the full reason
CODE = "code"  # header on dead letters: the bounded reason code
DELIVERY_TIMEOUT_MS = 120_000
COUNT_EVERY = 1000  # ticks between Prometheus counter updates (the hot loop counts locally)
BOOTSTRAP_TIMEOUT_MS = 10_000  # brokers that do not answer at start: say so within seconds
FLUSH_SLICE_S = 0.2  # a wait for deliveries, between two looks at whether to stop


def ensure_topics(auth: KafkaAuth, topics: dict[str, int]) -> None:
    """Create the named topics with their partition counts when they do not exist yet."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(
        **auth.aiokafka(), client_id="tickcast-admin", bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS
    )
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(t, n, 1) for t, n in topics.items() if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile elsewhere
                admin.create_topics(missing)
            log.info(
                "created topics %s", ", ".join(f"{t.name}({t.num_partitions})" for t in missing)
            )
    finally:
        admin.close()


class TickPublisher:
    """A configured producer for ticks and their dead letters, with outcome counts."""

    def __init__(
        self,
        auth: KafkaAuth,
        ticks_topic: str,
        dlq_topic: str,
        delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        from confluent_kafka import Producer

        self.ticks_topic = ticks_topic
        self.dlq_topic = dlq_topic
        self.stopping = stopping  # a stop was asked for: no waiting on the broker from now on
        self.counts: Counter[str] = Counter()
        self.purging = False  # stopping: what is still queued is given up
        self._reported: Counter[str] = Counter()  # what PUBLISHED already holds
        self.producer = Producer(
            {
                **auth.librdkafka(),
                "client.id": "tickcast-producer",
                "acks": "all",
                "enable.idempotence": True,  # retries keep per-symbol order, without duplicates
                "message.timeout.ms": delivery_timeout_ms,
                "linger.ms": 1,  # latency: a tick waits at most 1 ms for company
                "batch.size": 1_000_000,
                "compression.type": "lz4",
                # the Java client's key hash, as kafka-python, aiokafka and the worker's outputs
                # use: a symbol's ticks land on the same partition whichever client sent them
                "partitioner": "murmur2_random",
                "logger": logging.getLogger("tickcast.producers.librdkafka"),
            }
        )

    def publish(self, record: Any) -> None:
        """Validate and send one raw record (a dead letter if it is not a valid tick)."""
        headers = [(PRODUCED_AT, str(int(time.time() * 1000)).encode())]
        try:
            tick = parse_tick(record)
        except InvalidTickError as exc:
            payload = dumps(record) if isinstance(record, dict) else str(record).encode()
            reasons = [(REASON, exc.reason.encode()), (CODE, exc.code.encode())]
            if self._send(self.dlq_topic, None, payload, [*headers, *reasons]):
                self._count("invalid")
            return
        if self._send(self.ticks_topic, tick.symbol.encode(), dumps(tick), headers):
            self._count("published")

    def _send(self, topic: str, key: bytes | None, value: bytes, headers: list[Any]) -> bool:
        """Hand one message to librdkafka; while its queue is full, wait for deliveries, unless
        a stop was asked for (then it is given up and counted as failed: False)."""
        while True:
            try:
                self.producer.produce(topic, value, key, headers=headers, on_delivery=self._done)
                break
            except BufferError:
                if self.stopping():
                    self.counts["failed"] += 1
                    return False
                self.producer.poll(0.05)
        self.producer.poll(0)  # serve delivery reports
        return True

    def _count(self, outcome: str) -> None:
        self.counts[outcome] += 1
        if self.counts[outcome] % COUNT_EVERY == 0:  # Prometheus, every so often
            self._report()

    def _report(self) -> None:
        for outcome, n in self.counts.items():
            PUBLISHED.labels(outcome).inc(n - self._reported[outcome])
            self._reported[outcome] = n

    def _done(self, error: Any, message: Any) -> None:
        """A message the broker never took, after every retry: counted and logged, not silent
        (those given up at a stop are said once, by whoever stopped)."""
        if error is None:
            return
        self.counts["failed"] += 1
        failed = self.counts["failed"]
        if not self.purging and (failed <= 10 or failed % 1000 == 0):
            log.error("tick %r not delivered (%d so far): %s", message.key(), failed, error)

    def publish_all(
        self, records: Iterable[Any], on_progress: Callable[[int], None] | None = None
    ) -> Counter[str]:
        """Publish every record (until a stop is asked for), wait for delivery, and return the
        counts."""
        for count, record in enumerate(records, 1):
            if self.stopping():
                return self.counts  # the stopper gives what is queued its own time
            self.publish(record)
            if on_progress is not None and count % 1000 == 0:
                on_progress(1000)
        self.flush()
        return self.counts

    def flush(self, timeout: float = DELIVERY_TIMEOUT_MS / 1000 + 5) -> None:
        """Wait until every message is delivered or has failed, ``timeout`` seconds at most
        (less when a stop is asked for)."""
        left = self._delivered_within(timeout)
        self._report()
        if left and not self.stopping():
            log.error("%d messages still undelivered after %.0f s", left, timeout)

    def stop(self, timeout: float) -> int:
        """Deliver what is queued within ``timeout`` seconds, then give up on the rest (a broker
        that is down must not hold a stop past its grace period); returns how many messages
        were not delivered, which are counted as failed."""
        if self._delivered_within(timeout, stoppable=False):
            self.purging = True
            self.producer.purge()
            self.producer.flush(1)  # the purged ones' delivery reports: failed, counted
        self._report()
        return self.counts["failed"]

    def _delivered_within(self, timeout: float, stoppable: bool = True) -> int:
        """Wait for deliveries in short slices, so that a stop asked for meanwhile is heard
        (librdkafka's flush holds the thread); returns how many are still queued."""
        deadline = time.monotonic() + timeout
        left: int = self.producer.flush(0)
        while left and time.monotonic() < deadline and not (stoppable and self.stopping()):
            left = self.producer.flush(min(FLUSH_SLICE_S, max(0.0, deadline - time.monotonic())))
        return left

    def close(self) -> None:
        self.flush()
