"""Lend Odoo's pooled connections clean, without throwing away cached plans.

Odoo's connection pool resets a connection each time it lends it, with
psycopg2's ``reset()``: ``DISCARD ALL``. Besides cleaning the session, that
includes ``DISCARD PLANS``, which throws away every plan PostgreSQL caches for
the session, among them those of the foreign key checks and triggers. Every
request and every queue_job job then plans again each foreign key check of each
row it writes: a confirmed sale order cost 10 to 30 ms more PostgreSQL CPU in
an A/B measurement, about a third of its database time.

:data:`SESSION_RESET` is what the PostgreSQL documentation lists as the
equivalent of ``DISCARD ALL``, without ``DISCARD PLANS``: the borrower still
finds no open cursor, no session setting or role, no prepared statement, no
``LISTEN``, no advisory lock and no temporary table of the previous borrower.
A cached plan changes no result: PostgreSQL invalidates it itself when a table
or function it uses changes.

Set ``integration_keep_query_plans = False`` in the Odoo configuration file to
go back to ``DISCARD ALL``.
"""

import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from odoo import tools
from odoo.sql_db import PsycoConnection

OPTION = "integration_keep_query_plans"
SESSION_RESET = (
    "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; "
    "UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES"
)
_discard_all = psycopg2.extensions.connection.reset


def keeps_plans():
    """Whether the configuration lets lent connections keep their plans."""
    value = tools.config.get(OPTION, True)
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def reset_keeping_plans(connection):
    """Reset ``connection``'s session as ``DISCARD ALL`` does, keeping the
    plans PostgreSQL cached for it (see the module's docstring).

    :raises psycopg2.OperationalError: the connection is unusable (Odoo's pool
        then closes it and lends another)
    """
    if not keeps_plans():
        return _discard_all(connection)
    try:
        if connection.get_transaction_status() != TRANSACTION_STATUS_IDLE:
            connection.rollback()
        # in a transaction, not autocommit: psycopg2 would turn Odoo's next
        # isolation level into SET statements on an autocommit connection
        with connection.cursor() as cursor:
            cursor.execute(SESSION_RESET)
        connection.commit()
    except psycopg2.InterfaceError as err:
        raise psycopg2.OperationalError(str(err)) from err
    # notifications received for the previous borrower are not this one's
    del connection.notifies[:]
    return None


def install():
    """Make Odoo's pool lend connections with :func:`reset_keeping_plans`."""
    PsycoConnection.reset = reset_keeping_plans
