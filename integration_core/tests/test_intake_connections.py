"""The intake's own connections: kept between deliveries without a reset."""

from unittest import mock

from odoo import sql_db
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_core import intake_connections
from odoo.addons.integration_core.intake_connections import (
    IntakeConnectionPool,
    PreparingCursor,
    execute,
)


@tagged("post_install", "-at_install")
class TestIntakeConnectionPool(TransactionCase):
    def setUp(self):
        super().setUp()
        self.pool = IntakeConnectionPool()
        self.addCleanup(self.pool.close_all)
        self.info = sql_db.connection_info_for(self.env.cr.dbname)[1]

    def cursor(self):
        """An Odoo cursor on one of the pool's connections, closed after the test."""
        cr = sql_db.Cursor(self.pool, self.env.cr.dbname, self.info)
        self.addCleanup(cr.close)
        return cr

    def test_kept_as_it_is_in_autocommit(self):
        cr = self.cursor()
        connection = cr.connection
        self.assertFalse(self.pool.was_kept(connection))
        # Odoo's Cursor asked for repeatable read: the connection stays in
        # autocommit, at the server's default level
        self.assertTrue(connection.autocommit)
        cr.execute("SELECT current_setting('transaction_isolation')")
        self.assertEqual(cr.fetchone()[0], "read committed")
        cr.execute("SET application_name = 'kept by the intake'")
        cr.close()

        again = self.cursor()
        self.assertIs(again.connection, connection)
        self.assertTrue(self.pool.was_kept(connection))
        # no DISCARD ALL in between: the session is the same
        again.execute("SHOW application_name")
        self.assertEqual(again.fetchone()[0], "kept by the intake")

    def test_statements_are_prepared_once_per_connection(self):
        cr = self.cursor()
        query = "SELECT %s::int + 1, '100%%'"
        execute(cr, query, (41,))
        self.assertEqual(cr.fetchone(), (42, "100%"))
        cr.close()
        again = self.cursor()
        with mock.patch.object(
            intake_connections, "_numbered_placeholders", side_effect=AssertionError
        ):
            execute(again, query, (1,))
        self.assertEqual(again.fetchone(), (2, "100%"))
        again.execute("SELECT count(*) FROM pg_prepared_statements")
        self.assertEqual(again.fetchone()[0], 1)

    def test_statements_without_parameters_taken_as_they_are(self):
        cr = self.cursor()
        preparing = PreparingCursor(cr)
        preparing.execute("SELECT '%s and 100%%'")
        self.assertEqual(preparing.fetchone(), ("%s and 100%%",))
        cr.execute("SELECT statement FROM pg_prepared_statements")
        self.assertEqual(
            cr.fetchall(), [("PREPARE integration_intake_0 AS SELECT '%s and 100%%'",)]
        )

    def test_other_connections_run_statements_as_they_are(self):
        execute(self.env.cr, "SELECT %s::int * 2", (21,))
        self.assertEqual(self.env.cr.fetchone(), (42,))
        self.env.cr.execute("SELECT count(*) FROM pg_prepared_statements")
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_not_kept_inside_a_transaction_or_once_closed(self):
        cr = self.cursor()
        first = cr.connection
        first.autocommit = False
        cr.execute("SELECT 1")  # opens a transaction: not lent as it is
        self.pool.give_back(first)
        self.assertTrue(first.closed)
        second = self.pool.borrow(self.info)
        self.assertIsNot(second, first)
        second.close()
        self.pool.give_back(second)
        self.assertIsNot(self.pool.borrow(self.info), second)

    def test_not_lent_to_another_process(self):
        cr = self.cursor()
        connection = cr.connection
        cr.close()
        with mock.patch.object(intake_connections.os, "getpid", return_value=-1):
            other = self.pool.borrow(self.info)
        self.addCleanup(other.close)
        self.assertIsNot(other, connection)
        # the parent's connection is left alone, not closed under it
        self.assertFalse(connection.closed)
        connection.close()

    def test_closed_after_the_idle_timeout(self):
        cr = self.cursor()
        connection = cr.connection
        cr.close()
        later = intake_connections.time.monotonic() + sql_db.MAX_IDLE_TIMEOUT + 1
        with mock.patch.object(
            intake_connections.time, "monotonic", return_value=later
        ):
            fresh = self.pool.borrow(self.info)
        self.addCleanup(fresh.close)
        self.assertTrue(connection.closed)
        self.assertIsNot(fresh, connection)
