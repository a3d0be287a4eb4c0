"""ClickHouse through clickhouse-connect only: a store that connects (its schema ensured at
setup, :mod:`tickcast.stores.clickhouse_schema`), writes in batches and reads under limits.

``chdb://PATH`` runs ClickHouse's engine in-process (only one process may open a PATH);
``http://host:8123`` reaches a server. The SQL and the client are the same either way.
Rows go in as Arrow tables (never as SQL text), so epoch-ms integers land as DateTime64(3).
A failed insert is a :class:`~tickcast.exceptions.TransientWriteError` (retry it) or a
:class:`~tickcast.exceptions.PermanentWriteError` (it will fail again: stop and say why).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from tickcast.exceptions import PermanentWriteError, TickcastError, TransientWriteError
from tickcast.stores.clickhouse_schema import (
    SCHEMA,
    TABLE_COLUMNS,
    TIME_COLUMNS,
    VIEW_COLUMNS,
    Migration,
    arrow_type,
)

__all__ = ["ClickHouseError", "ClickHouseStore", "TABLE_COLUMNS"]

log = logging.getLogger(__name__)
R = TypeVar("R")

MAX_PARTITIONS_PER_INSERT = 100  # ClickHouse's max_partitions_per_insert_block default
# Server error codes that can pass by themselves (timeouts, network, memory, too many parts
# while merges catch up, read-only replica); any other refusal is permanent.
BROKEN = {3, 23, 24, 32, 209, 210, 1000}  # the connection or the stream broke
BUSY = {159, 160, 202, 203, 236, 241, 252, 394}  # timeouts, load, memory, parts piling up
IN_DOUBT = {242, 319, 425, 999}  # a read-only replica, an insert of unknown status, the system
TRANSIENT_CODES = BROKEN | BUSY | IN_DOUBT
CODE_RE = re.compile(r"Code: (\d+)")
# No merge of the inserted block on insert: rows collapse at merges and FINAL reads either way,
# and the insert costs a third less CPU (measured on chdb, 30,000-row forecast blocks).
INSERT_SETTINGS = {"optimize_on_insert": 0, "max_threads": 1, "max_insert_threads": 1}
# Every read runs on a client of its own with these settings: it may not run long, nor use much
# memory, nor return much, nor write: readonly comes last, as no setting may change once it is
# on, and a query cannot lift it (a SETTINGS clause, SET, a second statement: all refused). A
# server's reader user (the API's, Grafana's) has the same in its profile
# (infra/clickhouse/users.xml), and a read-only profile refuses to have readonly set again: a
# read-only store sends only the limits to a server.
READ_LIMITS: dict[str, Any] = {
    "max_execution_time": 30,
    "max_memory_usage": 2_000_000_000,
    "max_result_rows": 1_000_000,
    "result_overflow_mode": "throw",
}
READ_ONLY_LIMITS = {**READ_LIMITS, "readonly": 1}


class ClickHouseError(TickcastError):
    """ClickHouse could not be reached or refused a statement; the message says which."""


def client_dsn(url: str) -> str:
    """clickhouse-connect's DSN for ``url``: a relative ``chdb://./data/olap`` becomes absolute.

    clickhouse-connect reads ``chdb://./x`` as host "." and database "x"; only ``chdb:///abs``
    names a directory, so relative paths are resolved against the working directory here.

    >>> client_dsn("chdb:///srv/olap"), client_dsn("http://ch:8123")
    ('chdb:///srv/olap', 'http://ch:8123')
    """
    if not url.startswith("chdb://") or url.startswith(("chdb:///", "chdb://memory")):
        return url
    return "chdb://" + os.path.abspath(url.removeprefix("chdb://"))


class ClickHouseStore:
    """One client per process, guarded by a lock (chdb's session is not for concurrent use).

    Reads (:meth:`query`, :meth:`records`) run on a client of their own under the read limits
    (:data:`READ_ONLY_LIMITS`) whoever asks, so the API's queries can neither write nor run
    away, even in the worker's own process (``worker --serve``). A ``read_only`` store (the API
    in a process of its own, as a server's reader user) creates nothing at setup: it only checks
    the tables are this version's."""

    def __init__(
        self,
        url: str,
        ttl_days: int = 0,
        *,
        username: str = "",
        password: str = "",
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.ttl_days = ttl_days
        self.login: dict[str, Any] = (
            {"username": username, "password": password} if username else {}
        )
        self.read_only = read_only
        self._lock = threading.RLock()  # setup runs under it, also when a query connects
        self._client: Any = None  # writes: schema, inserts (none in a read-only store)
        self._reader: Any = None  # reads, under the read limits

    def setup(self) -> None:
        """Connect, create the schema when missing and apply the TTL (a read-only store only
        checks the tables); fails with a reason."""
        import clickhouse_connect

        dsn = client_dsn(self.url)
        embedded = dsn.startswith("chdb:///")
        if embedded:
            Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
        if self._reader is None and (holder := self.holder()) is not None:
            raise ClickHouseError(
                f"ClickHouse at {self.url}: process {holder} holds this embedded store, and "
                "chdb opens a path in one process only: give this process a path of its own "
                "or share a ClickHouse server (an API: serve it from that process, tickcast "
                "worker --serve)"
            )
        try:
            with self._lock:  # once: an unclosed chdb client keeps its engine
                if self._client is None and not self.read_only:
                    self._client = clickhouse_connect.get_client(dsn=dsn, **self.login)
                if self._reader is None:
                    limits = READ_LIMITS if self.read_only and not embedded else READ_ONLY_LIMITS
                    self._reader = clickhouse_connect.get_client(
                        dsn=dsn, settings=limits, **self.login
                    )
                migration = Migration(self._client, self._reader, self.ttl_days)
                if self.read_only:
                    migration.check_columns(TABLE_COLUMNS)
                else:
                    migration.ensure()
        except Exception as exc:  # the driver raises many kinds; one reason for the operator
            raise ClickHouseError(f"ClickHouse at {self.url}: {_line(exc)}") from exc
        if self.read_only:
            log.info("clickhouse ready at %s (read only)", self.url)
            return
        ttl = f"{self.ttl_days} days" if self.ttl_days > 0 else "none"
        log.info("clickhouse ready at %s (schema ensured, ttl %s)", self.url, ttl)

    def holder(self) -> int | None:
        """The pid of another process that has this embedded (chdb) store open, if one has;
        None for a server."""
        dsn = client_dsn(self.url)
        return (
            _chdb_holder(Path(dsn.removeprefix("chdb://"))) if dsn.startswith("chdb:///") else None
        )

    @property
    def client(self) -> Any:
        """The client that writes (connected on first use)."""
        if self.read_only:
            raise ClickHouseError(f"ClickHouse at {self.url}: this store only reads")
        if self._client is None:
            self.setup()
        return self._client

    @property
    def reader(self) -> Any:
        """The client that reads, under the read limits (connected on first use)."""
        if self._reader is None:
            self.setup()
        return self._reader

    def insert(self, table: str, rows: Sequence[Any]) -> None:
        """Insert records (dataclasses or dicts) into ``table``, column-oriented, in blocks of
        at most 100 partitions; raises TransientWriteError or PermanentWriteError."""
        if not rows:
            return
        try:
            arrow = _arrow_table(table, rows)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise PermanentWriteError(f"rows for ClickHouse table {table}: {exc}") from exc
        self.insert_table(table, arrow)

    def insert_table(self, table: str, arrow: pa.Table) -> None:
        """Insert an Arrow table (its columns named as the table's), in blocks of at most 100
        partitions; raises TransientWriteError or PermanentWriteError."""
        if not arrow.num_rows:
            return
        for block in _partition_blocks(arrow, SCHEMA[table].partition):
            try:
                with self._lock:
                    self.client.insert_arrow(table, block, settings=INSERT_SETTINGS)
            except ClickHouseError as exc:  # could not (re)connect: it may come back
                raise TransientWriteError(f"{exc} (table {table})") from exc
            except TickcastError:
                raise
            except Exception as exc:  # the driver's many kinds, sorted into the two of ours
                raise _write_error(exc, table, self.url) from exc

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts, read by the reader (under :data:`READ_LIMITS`); ``{name:Type}``
        placeholders are bound by the server."""
        with self._lock:
            try:
                result = self.reader.query(sql, parameters=parameters or {})
                rows = result.result_rows
            except Exception:
                self._drop_reader()
                raise
        return [dict(zip(result.column_names, row, strict=True)) for row in rows]

    def _drop_reader(self) -> None:
        """Forget the reader after a failed read: a chdb client left the failed query's
        unread blocks behind, and answered the next query with them (rows of another query)."""
        if self._reader is not None:
            try:
                self._reader.close()
            finally:
                self._reader = None

    def records(
        self,
        table: str,
        record: type[R],
        where: str = "",
        parameters: dict[str, Any] | None = None,
        order: str = "",
        limit: int | None = None,
    ) -> list[R]:
        """Rows of a table (collapsed, FINAL) or a view (it collapses its own) as records,
        event times as epoch ms again."""
        is_view = table in VIEW_COLUMNS
        columns = ", ".join(
            f"toUnixTimestamp64Milli({c}) AS {c}" if c in TIME_COLUMNS else c
            for c in (VIEW_COLUMNS if is_view else TABLE_COLUMNS)[table]
        )
        sql = f"SELECT {columns} FROM {table}" + ("" if is_view else " FINAL")
        sql += f" WHERE {where}" if where else ""
        sql += f" ORDER BY {order}" if order else ""
        sql += f" LIMIT {int(limit)}" if limit is not None else ""
        return [record(**row) for row in self.query(sql, parameters)]

    def ping(self) -> bool:
        try:
            with self._lock:
                return bool(self.reader.command("SELECT 1") == 1)
        except Exception:  # readiness: any failure means not ready
            return False

    def close(self) -> None:
        with self._lock:
            for client in (self._client, self._reader):
                if client is not None:
                    client.close()
            self._client = self._reader = None


def _chdb_holder(path: Path) -> int | None:
    """The pid of another process that has chdb's engine open at ``path``, if one has: the
    engine locks its ``status`` file, and its own refusal only says BAD_ARGUMENTS."""
    import fcntl

    status = path / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:  # never opened: nobody holds it
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    except OSError:
        found = re.search(r"PID: (\d+)", status.read_text(errors="replace"))
        pid = int(found.group(1)) if found else -1
        return None if pid == os.getpid() else pid
    finally:
        os.close(fd)


def _arrow_table(table: str, rows: Sequence[Any]) -> pa.Table:
    """Records (dataclasses, or dicts where a missing float is NaN) as the table's Arrow
    columns. Arrow, not clickhouse-connect's row encoding: pyarrow builds columns in C, a
    third of the Python time a writer thread holds the GIL against the stream."""
    names, types = TABLE_COLUMNS[table], SCHEMA[table].types
    if isinstance(rows[0], dict):
        data = [[_cell(row.get(c), types[c]) for row in rows] for c in names]
    else:
        data = [[getattr(row, c) for row in rows] for c in names]
    arrays = [
        pa.array(values, type=arrow_type(types[c])) for c, values in zip(names, data, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=names)


def _partition_blocks(arrow: pa.Table, column: str) -> list[pa.Table]:
    """The table split so that no block spans more than MAX_PARTITIONS_PER_INSERT months (the
    schema's partitions): a 30-year daily history is one replay's flush, and ClickHouse refuses
    an insert block over more than 100 partitions."""
    times = arrow[column]
    span = pc.min_max(times)
    first, last = span["min"].as_py(), span["max"].as_py()
    if (last.year - first.year) * 12 + last.month - first.month < MAX_PARTITIONS_PER_INSERT:
        return [arrow]  # a live batch: one pass over the times, not a month per row
    months = pc.add(pc.multiply(pc.year(times), 12), pc.month(times))
    if len(pc.unique(months)) <= MAX_PARTITIONS_PER_INSERT:
        return [arrow]
    order = pc.sort_indices(months)  # stable: rows keep their order within a month
    ordered, keys = arrow.take(order), months.take(order).to_pylist()
    blocks, start, distinct = [], 0, 0
    for i in range(len(keys)):
        if i and keys[i] != keys[i - 1]:
            distinct += 1
            if distinct == MAX_PARTITIONS_PER_INSERT:
                blocks.append(ordered.slice(start, i - start))
                start, distinct = i, 0
    blocks.append(ordered.slice(start))
    return blocks


def _write_error(exc: Exception, table: str, url: str) -> TickcastError:
    """A failed insert as ours: transient (retry) or permanent (stop), in one line naming the
    table and the cause."""
    from clickhouse_connect.driver.exceptions import DatabaseError, DataError, ProgrammingError

    text = " ".join(str(exc).split())[:300]
    found = CODE_RE.search(text)
    refused = isinstance(exc, DatabaseError | DataError | ProgrammingError) and found is not None
    if refused and int(found.group(1)) not in TRANSIENT_CODES:  # type: ignore[union-attr]
        return PermanentWriteError(f"ClickHouse at {url} refused rows for table {table}: {text}")
    return TransientWriteError(f"ClickHouse at {url}, table {table}: {text}")


def _cell(value: Any, kind: str) -> Any:
    return math.nan if value is None and kind == "Float64" else value


def _line(exc: BaseException) -> str:
    """An exception in one line, for a message."""
    return " ".join(str(exc).split())[:300]
