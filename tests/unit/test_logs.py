"""A failure that repeats is logged once, then now and then, saying how many lines it held
back (librdkafka wrote about 20 a second while a broker was down)."""

from __future__ import annotations

import logging

from tickcast.logs import Throttle


def record(name: str, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, None)


def test_a_repeated_failure_is_said_once_a_period_with_the_count_held_back() -> None:
    now = [0.0]
    throttle = Throttle(every_s=30, clock=lambda: now[0])
    name = "tickcast.producers.librdkafka"
    said = []
    for second in range(60):
        now[0] = float(second)
        for attempt in range(20):
            line = record(name, "Connect to 127.0.0.1:%d failed (attempt %d)", 9092, attempt)
            if throttle.filter(line):
                said.append(line.getMessage())
    assert len(said) == 2
    assert said[1].endswith("(599 more like it held back)")


def test_tickcasts_own_lines_and_other_kinds_pass() -> None:
    throttle = Throttle(every_s=30, clock=lambda: 0.0)
    assert all(throttle.filter(record("tickcast.pipeline", "dead letter #%d", n)) for n in range(5))
    assert throttle.filter(record("aiokafka.conn", "Unable to connect"))
    assert throttle.filter(record("aiokafka.conn", "Another failure"))
    assert not throttle.filter(record("aiokafka.conn", "Unable to connect"))


def test_an_event_is_one_json_object_with_its_fields_and_a_line_of_prose_for_people() -> None:
    import json

    from tickcast.events import emit
    from tickcast.logs import JsonLines

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    log = logging.getLogger("tickcast.test_events")
    handler = Keep()
    handler.setFormatter(JsonLines())
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        emit(
            log, "state_recovered", "recovered %s at event time %s", "AAPL", 5, symbol="AAPL", ts=5
        )
        log.warning("plain %s", "prose")
    finally:
        log.removeHandler(handler)
    event, plain = (json.loads(line) for line in lines)
    assert event["event"] == "state_recovered"
    assert (event["symbol"], event["ts"]) == ("AAPL", 5)
    assert event["message"] == "recovered AAPL at event time 5"
    assert event["level"] == "INFO"
    assert "event" not in plain
    assert plain["message"] == "plain prose"
