"""The worker's Kafka writes (forecasts, dead letters, state) as one record batch per partition,
and the sinks that make them.

A flush hands over hundreds of forecast messages at once. Sending them one by one through
Faust's producer cost about 60 us each on the event loop, the largest part of a flush; here each
partition's messages become one aiokafka record batch, built in a tight loop and sent with one
call. Keys are partitioned by the Java client's murmur2 hash, as every Kafka client does, so a
symbol's forecasts land where its key says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from tickcast.codecs import key_partition
from tickcast.config import KafkaAuth
from tickcast.exceptions import TransientWriteError
from tickcast.monitor.prometheus import SINK_BATCH_ROWS
from tickcast.producers.kafka_publisher import CODE, REASON
from tickcast.stream_processors.outputs import Outputs

__all__ = ["ChangelogSink", "DeadLetterSink", "KafkaOutputs", "Message", "TopicSink"]

MAX_BATCH_BYTES = 512 * 1024
Message = tuple[bytes | None, bytes, list[tuple[str, bytes]]]  # key, value, headers


class KafkaOutputs:
    """An idempotent, acks=all producer of its own, started on first use."""

    def __init__(self, auth: KafkaAuth, client_id: str) -> None:
        self.auth = auth
        self.client_id = client_id
        self.producer: Any = None  # made on the event loop, which aiokafka requires
        self.partitions: dict[str, list[int]] = {}
        self.partition_of: dict[tuple[str, bytes], int] = {}

    async def start(self) -> None:
        if self.producer is None:
            producer = AIOKafkaProducer(
                **self.auth.aiokafka(),
                client_id=self.client_id,
                acks="all",
                enable_idempotence=True,  # a retried batch is neither duplicated nor reordered
                max_batch_size=MAX_BATCH_BYTES,
                request_timeout_ms=30_000,
            )
            await producer.start()
            self.producer = producer

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def send(
        self, topic: str, messages: Sequence[Message], partition: int | None = None
    ) -> list[asyncio.Future[Any]]:
        """Queue ``messages`` (keyed ones by their key's partition, unless ``partition`` is
        given); returns the futures that resolve once the broker has them."""
        await self.start()
        per_partition: dict[int, list[Message]] = {}
        for message in messages:
            p = partition if partition is not None else await self._partition(topic, message[0])
            per_partition.setdefault(p, []).append(message)
        futures = []
        for p, group in per_partition.items():
            futures += await self._send_partition(topic, p, group)
        return futures

    async def _send_partition(
        self, topic: str, partition: int, messages: list[Message]
    ) -> list[asyncio.Future[Any]]:
        futures = []
        batch = self.producer.create_batch()
        for key, value, headers in messages:
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                futures.append(await self.producer.send_batch(batch, topic, partition=partition))
                batch = self.producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise ValueError(f"a message of {len(value)} bytes exceeds a batch")
        if batch.record_count():
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        return futures

    async def _partition(self, topic: str, key: bytes | None) -> int:
        if key is None:
            return 0
        found = self.partition_of.get((topic, key))
        if found is None:
            every = self.partitions.get(topic)
            if every is None:
                every = self.partitions[topic] = sorted(await self.producer.partitions_for(topic))
            found = self.partition_of[(topic, key)] = every[key_partition(key, len(every))]
        return found


DELIVERY_TIMEOUT_S = 30.0


async def _confirmed(futures: list[asyncio.Future[Any]], what: str) -> None:
    """Wait until the broker has every message; a timeout or a refusal is transient."""
    try:
        await asyncio.wait_for(asyncio.gather(*futures), DELIVERY_TIMEOUT_S)
    except Exception as exc:  # the broker is down or slow: the batch is sent again
        raise TransientWriteError(f"{what}: {exc!r}") from exc


class TopicSink:
    """The ``forecasts`` topic: one message per ok tick, key = symbol (as the core wrote it)."""

    reads_messages = True  # the core writes the messages only for a runtime with this sink

    def __init__(self, kafka: KafkaOutputs, topic: str, name: str = "forecasts") -> None:
        self.kafka = kafka
        self.topic = topic
        self.name = name

    def part(self, outputs: Outputs) -> list[Message]:
        return [(key, value, []) for key, value in outputs.messages()]

    async def write(self, part: list[Message]) -> None:
        if part:
            await _confirmed(await self.kafka.send(self.topic, part), f"topic {self.topic}")
            SINK_BATCH_ROWS.labels("kafka").observe(len(part))
            part.clear()


class DeadLetterSink(TopicSink):
    """``ticks.dlq``: each bad message as it arrived, with its reason and code in headers."""

    def __init__(self, kafka: KafkaOutputs, topic: str) -> None:
        super().__init__(kafka, topic, "dead_letters")

    def part(self, outputs: Outputs) -> list[Message]:
        return [
            (
                None,
                letter.original or letter.payload.encode(),
                [
                    (REASON, letter.reason.encode()),
                    (CODE, letter.code.encode()),
                    ("source", letter.source.encode()),
                ],
            )
            for letter in outputs.dead_letters
        ]


class ChangelogSink:
    """Each moved symbol's encoded state, to the changelog partition of its ticks (and to the
    Faust table's copy in memory, which recovery rebuilds from the changelog)."""

    def __init__(self, kafka: KafkaOutputs, table: Any, partition_of: Callable[[str], int]) -> None:
        self.kafka = kafka
        self.table = table
        self.partition_of = partition_of

    def part(self, states: dict[str, bytes]) -> list[tuple[bytes, bytes, int]]:
        return [(s.encode(), value, self.partition_of(s)) for s, value in states.items()]

    async def write(self, part: list[tuple[bytes, bytes, int]]) -> None:
        """Each state to the changelog, confirmed, then into the table's copy in memory (what
        a rebalance recovers from, until Faust rebuilds it from the changelog)."""
        changelog = self.table.changelog_topic.get_topic_name()
        sent = []
        for key, value, partition in part:
            sent += await self.kafka.send(changelog, [(key, value, [])], partition=partition)
        await _confirmed(sent, f"changelog {changelog}")
        for key, value, _ in part:
            self.table.data[key] = value
        part.clear()
