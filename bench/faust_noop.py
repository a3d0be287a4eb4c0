"""Faust's own ceiling: ticks/s through a no-op agent on the worker's consumer settings.

The agent reads the raw ticks topic, acknowledges each event and does nothing else; the rate
(first to last event) is what one Faust worker process can deliver at most on this machine,
before any decoding, forecasting or writing. With ``NOOP_LATENCY_AFTER=K`` in the environment
it also keeps each event's delay, after the first K, from its producer's send (the
``produced_at`` header) to its delivery to the agent: the floor under the worker's end-to-end
latency. (Options go through the environment: Faust's worker parses the command line.)
Prints one JSON line.

    .venv/bin/python bench/faust_noop.py TOPIC N [BOOTSTRAP]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from typing import Any

import faust

from tickcast.producers.kafka_publisher import PRODUCED_AT
from tickcast.stream_processors.faust_app import PromptTransport, raw_schema


class NoopApp(faust.App):
    def _new_transport(self) -> Any:
        return PromptTransport(self.conf.broker_consumer, self)


def main() -> None:
    topic_name, n = sys.argv[1], int(sys.argv[2])
    bootstrap = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1:9092"
    latency_after = int(os.environ.get("NOOP_LATENCY_AFTER", "-1"))  # -1: no latency
    delays: list[float] = []
    app = NoopApp(
        f"noop-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{bootstrap}",
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        store="memory://",
        datadir=tempfile.mkdtemp(prefix="tickcast-noop-"),
    )
    topic = app.topic(topic_name, schema=raw_schema())  # (datadir: not the repo root)
    seen = {"n": 0, "start": 0.0}

    @app.agent(topic)
    async def noop(stream: Any) -> None:
        manual = stream.noack()
        async for event in manual.events():
            if not seen["n"]:
                seen["start"] = time.perf_counter()
            seen["n"] += 1
            if 0 <= latency_after < seen["n"]:
                sent = dict(event.message.headers or ()).get(PRODUCED_AT)
                if sent is not None:
                    delays.append(time.time() - int(sent) / 1000)
            await manual.ack(event)
            if seen["n"] == n:
                elapsed = time.perf_counter() - seen["start"]
                figures: dict[str, Any] = {"events": n, "per_s": round((n - 1) / elapsed)}
                if delays:
                    delays.sort()
                    for name, q in (("p50_ms", 0.5), ("p99_ms", 0.99)):
                        figures[name] = round(delays[int(q * (len(delays) - 1))] * 1000, 1)
                result = json.dumps(figures)
                sys.__stdout__.write(result + "\n")  # Faust redirects sys.stdout to its log
                sys.__stdout__.flush()
                os._exit(0)  # done: nothing to flush or commit

    worker = faust.Worker(app, loglevel="warning", quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
