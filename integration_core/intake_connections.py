"""PostgreSQL connections kept for the webhook intake between deliveries.

Odoo's pool resets a connection each time it lends it. psycopg2's ``reset()``
is ``DISCARD ALL``, which also throws away the plans PostgreSQL caches per
session: those of the foreign key checks and of queue_job's NOTIFY trigger,
which the intake's insert then plans again on every delivery (measured: the
insert's execution 0.5 ms with them cached, 1.6 ms after a reset).
:mod:`.pool_reset` keeps those plans, but a reset is still three round trips
and throws away prepared statements. The intake changes nothing a reset would
undo: each of
its statements is its own transaction (autocommit), it sets no parameter,
prepares nothing, creates no temporary table and listens to nothing. So its
connections are its own, kept in autocommit and lent again as they are.

Kept, a connection also keeps prepared statements: the intake's insert is
planned once per connection (:meth:`AutocommitConnection.prepared`).

A kept connection can have died since its last use (PostgreSQL restarted, the
backend terminated): :meth:`IntakeConnectionPool.borrow` says whether the one
it lends was kept, so that a loss found by the first statement can be retried
on a new connection.
"""

import os
import re
import threading
import time

import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from odoo.sql_db import MAX_IDLE_TIMEOUT, PsycoConnection


class AutocommitConnection(PsycoConnection):
    """A connection that stays in autocommit: each statement is committed
    when it ends, at PostgreSQL's default isolation level (read committed).

    Odoo's ``Cursor`` asks every connection it gets for repeatable read and a
    read/write session; for a connection in autocommit psycopg2 turns such a
    change into ``SET`` statements (and leaves autocommit for it), so both
    requests are ignored here: the connection's mode is set once, when it is
    opened."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # {query text: the EXECUTE running it}
        self._prepared = {}

    def set_isolation_level(self, level):
        """Ignored: the connection stays in autocommit."""

    def set_session(self, *args, **kwargs):
        """Ignored: the connection stays in autocommit."""

    def prepared(self, cursor, query, params=True):
        """The ``EXECUTE`` of ``query`` prepared on this connection, through
        ``cursor`` the first time: the same parameters run it. With
        ``params``, ``query`` has psycopg2's ``%s`` placeholders; without, it
        is taken as it is (as psycopg2 does)."""
        key = (query, bool(params))
        statement = self._prepared.get(key)
        if statement is None:
            name = f"integration_intake_{len(self._prepared)}"
            numbered, count = _numbered_placeholders(query) if params else (query, 0)
            cursor.execute(f"PREPARE {name} AS {numbered}")
            statement = (
                f"EXECUTE {name} ({', '.join(['%s'] * count)})"
                if count
                else f"EXECUTE {name}"
            )
            self._prepared[key] = statement
        return statement


def _numbered_placeholders(query):
    """``(query with $1, $2... for its %s, count)``; ``%%`` becomes ``%``."""
    count = 0

    def number(match):
        nonlocal count
        if match.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    return re.sub(r"%([s%])", number, query), count


def execute(cursor, query, params=None):
    """Run ``query`` on ``cursor``: prepared when its connection keeps
    prepared statements (an intake connection), else as it is.

    Only for statements PostgreSQL can prepare (``SELECT``, ``INSERT``,
    ``UPDATE``, ``DELETE``) whose parameters are single values: a tuple
    psycopg2 would expand into a list is not one."""
    prepared = getattr(cursor.connection, "prepared", None)
    if prepared:
        query = prepared(cursor, query, params is not None)
    cursor.execute(query, params)


class PreparingCursor:
    """``cursor``, its statements run by :func:`execute`: for code of
    Odoo's that runs its own parameterless ``SELECT`` (the registry's
    signaling check) on an intake connection."""

    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, query, params=None):
        """:func:`execute` on the wrapped cursor."""
        execute(self._cursor, query, params)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class IntakeConnectionPool:
    """Autocommit connections lent to the intake's cursors, without reset.

    Implements what Odoo's ``Cursor`` uses of its pool (``borrow``,
    ``give_back``, ``readonly``). A connection is kept only while it is open
    and outside any transaction, by the process that opened it (a forked
    process opens its own), for :data:`~odoo.sql_db.MAX_IDLE_TIMEOUT` seconds
    of idleness at most.
    """

    readonly = False

    def __init__(self):
        self._lock = threading.Lock()
        # [(connection, connection_info, pid, last use)]
        self._idle = []

    def borrow(self, connection_info):
        """A kept connection for ``connection_info``, else a new one."""
        now = time.monotonic()
        pid = os.getpid()
        with self._lock:
            stale, found = [], None
            for entry in self._idle:
                connection, info, owner, last_use = entry
                if owner != pid:
                    # the parent's socket: closing it here would end its session
                    stale.append(entry)
                elif connection.closed or now - last_use > MAX_IDLE_TIMEOUT:
                    stale.append(entry)
                    connection.close()
                elif found is None and info == connection_info:
                    found = entry
            for entry in stale:
                self._idle.remove(entry)
            if found is not None:
                self._idle.remove(found)
                found[0].intake_kept = True
                return found[0]
        connection = psycopg2.connect(
            connection_factory=AutocommitConnection, **connection_info
        )
        connection.autocommit = True
        connection.intake_info = (dict(connection_info), pid)
        connection.intake_kept = False
        return connection

    @staticmethod
    def was_kept(connection):
        """True when ``connection`` (lent now) had served a cursor before."""
        return connection.intake_kept

    def give_back(self, connection, keep_in_pool=True):
        """Keep ``connection`` for the next cursor, or close it when it is
        closed already, inside a transaction or not to be kept."""
        info, pid = connection.intake_info
        with self._lock:
            if (
                keep_in_pool
                and pid == os.getpid()
                and not connection.closed
                and connection.get_transaction_status() == TRANSACTION_STATUS_IDLE
            ):
                self._idle.append((connection, info, pid, time.monotonic()))
                return
        if not connection.closed:
            connection.close()

    def close_all(self):
        """Close the idle connections of this process (a database dropped,
        the server stopping)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _info, pid, _last_use in idle:
            if pid == os.getpid() and not connection.closed:
                connection.close()
