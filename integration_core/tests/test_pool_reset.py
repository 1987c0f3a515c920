"""Odoo's pool lends connections clean, keeping PostgreSQL's cached plans."""

from unittest import mock

import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from odoo import sql_db, tools
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_core import pool_reset


@tagged("post_install", "-at_install")
class TestPoolReset(TransactionCase):
    def setUp(self):
        super().setUp()
        # a pool of its own: the server's pool and the test cursor stay out of it
        self.pool = sql_db.ConnectionPool(maxconn=2)
        self.addCleanup(self.pool.close_all)
        self.info = sql_db.connection_info_for(self.env.cr.dbname)[1]

    def borrow(self):
        connection = self.pool.borrow(self.info)
        self.addCleanup(self.pool.give_back, connection)
        return connection

    def last_statement(self, connection):
        """What the backend of ``connection`` ran last, seen from the test's
        own connection."""
        # the activity view is a snapshot per transaction: take a new one
        self.env.cr.execute("SELECT pg_stat_clear_snapshot()")
        self.env.cr.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s",
            (connection.info.backend_pid,),
        )
        return self.env.cr.fetchone()[0]

    def test_installed_on_odoo_connections(self):
        self.assertIs(sql_db.PsycoConnection.reset, pool_reset.reset_keeping_plans)

    def test_next_borrower_finds_a_clean_session(self):
        connection = self.borrow()
        with connection.cursor() as cursor:
            cursor.execute("SET work_mem = '7MB'")
            cursor.execute("CREATE TEMPORARY TABLE left_behind (id int)")
            cursor.execute("SELECT pg_advisory_lock(424242)")
            cursor.execute("LISTEN left_behind")
            cursor.execute("PREPARE left_behind AS SELECT 1")
            cursor.execute("DECLARE left_behind CURSOR WITH HOLD FOR SELECT 1")
        connection.commit()
        with connection.cursor() as cursor:
            # and a transaction still open when it is given back
            cursor.execute("SET statement_timeout = '1234s'")
        self.pool.give_back(connection)

        again = self.pool.borrow(self.info)
        self.assertIs(again, connection)
        self.assertEqual(again.get_transaction_status(), TRANSACTION_STATUS_IDLE)
        self.assertNotEqual(self.last_statement(again), "DISCARD ALL")
        with again.cursor() as cursor:
            cursor.execute(
                """SELECT current_setting('work_mem'),
                          current_setting('statement_timeout'),
                          to_regclass('left_behind'),
                          (SELECT count(*) FROM pg_locks
                           WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
                          (SELECT count(*) FROM pg_listening_channels()),
                          (SELECT count(*) FROM pg_prepared_statements),
                          (SELECT count(*) FROM pg_cursors)"""
            )
            work_mem, timeout, table, locks, channels, prepared, cursors = (
                cursor.fetchone()
            )
        again.rollback()
        self.assertNotEqual(work_mem, "7MB")
        self.assertNotEqual(timeout, "1234s")
        self.assertEqual(
            (table, locks, channels, prepared, cursors), (None, 0, 0, 0, 0)
        )

    def test_discard_all_when_configured_so(self):
        connection = self.borrow()
        self.pool.give_back(connection)
        with mock.patch.dict(tools.config.options, {pool_reset.OPTION: "False"}):
            again = self.pool.borrow(self.info)
        self.assertIs(again, connection)
        self.assertEqual(self.last_statement(again), "DISCARD ALL")

    def test_connection_whose_backend_ended_is_replaced(self):
        connection = self.pool.borrow(self.info)
        pid = connection.info.backend_pid
        self.pool.give_back(connection)
        self.env.cr.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        self.assertTrue(self.env.cr.fetchone()[0])

        replacement = self.pool.borrow(self.info)
        self.addCleanup(self.pool.give_back, replacement)
        # the reset's error made the pool close it and open another
        self.assertIsNot(replacement, connection)
        self.assertTrue(connection.closed)
        with replacement.cursor() as cursor:
            cursor.execute("SELECT 1")
            self.assertEqual(cursor.fetchone(), (1,))
        replacement.rollback()

    def test_closed_connection_raises_what_the_pool_expects(self):
        connection = self.borrow()
        connection.close()
        with self.assertRaises(psycopg2.OperationalError):
            pool_reset.reset_keeping_plans(connection)
