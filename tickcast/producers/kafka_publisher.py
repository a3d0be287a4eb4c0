"""Publish ticks to Kafka with kafka-python: key = symbol, JSON values, produce time header.

Every record is validated by :func:`tickcast.records.parse_tick` before it is published, with
the one serialiser in records.py; a record that fails goes to the dead-letter topic with its
reason in a header, never silently away. Topics are created when missing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from tickcast.monitor.metrics import PUBLISHED
from tickcast.records import InvalidTickError, dumps, parse_tick

__all__ = ["PRODUCED_AT", "REASON", "TickPublisher", "ensure_topics"]

log = logging.getLogger(__name__)
PRODUCED_AT = "produced_at"  # header: wall-clock ms when the producer sent the tick
REASON = "reason"  # header on dead letters


def ensure_topics(bootstrap: str, topics: dict[str, int]) -> None:
    """Create the named topics with their partition counts when they do not exist yet."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="tickcast-admin")
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
    """A configured kafka-python producer for ticks and their dead letters."""

    def __init__(self, bootstrap: str, ticks_topic: str, dlq_topic: str) -> None:
        from kafka import KafkaProducer

        self.ticks_topic = ticks_topic
        self.dlq_topic = dlq_topic
        self.counts: Counter[str] = Counter()
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="tickcast-producer",
            acks="all",
            delivery_timeout_ms=120_000,  # retries until then: a broker restart loses nothing
            linger_ms=5,
            batch_size=256 * 1024,
            compression_type="lz4",
            max_in_flight_requests_per_connection=1,  # retries keep per-symbol order
        )

    def publish(self, record: Any) -> None:
        """Validate and send one raw record (a dead letter if it is not a valid tick)."""
        headers = [(PRODUCED_AT, str(int(time.time() * 1000)).encode())]
        try:
            tick = parse_tick(record)
        except InvalidTickError as exc:
            payload = dumps(record) if isinstance(record, dict) else str(record).encode()
            self.producer.send(
                self.dlq_topic, value=payload, headers=[*headers, (REASON, exc.reason.encode())]
            )
            self.counts["invalid"] += 1
            PUBLISHED.labels("invalid").inc()
            return
        sent = self.producer.send(
            self.ticks_topic, key=tick.symbol.encode(), value=dumps(tick), headers=headers
        )
        sent.add_errback(self._failed, tick.symbol)
        self.counts["published"] += 1
        PUBLISHED.labels("published").inc()

    def _failed(self, symbol: str, exc: BaseException) -> None:
        """A tick the broker never took, after every retry: counted and logged, not silent."""
        self.counts["failed"] += 1
        PUBLISHED.labels("failed").inc()
        failed = self.counts["failed"]
        if failed <= 10 or failed % 1000 == 0:
            log.error("tick of %s not delivered (%d so far): %s", symbol, failed, exc)

    def publish_all(
        self, records: Iterable[Any], on_progress: Callable[[int], None] | None = None
    ) -> Counter[str]:
        """Publish every record, flush, and return the counts (published, invalid)."""
        for count, record in enumerate(records, 1):
            self.publish(record)
            if on_progress is not None and count % 1000 == 0:
                on_progress(1000)
        self.producer.flush()
        return self.counts

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()
