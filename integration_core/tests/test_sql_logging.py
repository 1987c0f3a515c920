import logging
import threading
import unittest

from odoo.addons.integration_core.sql_logging import expected_sql_failure

SQL_LOGGER = logging.getLogger("odoo.sql_db")


class TestExpectedSqlFailure(unittest.TestCase):
    """The "bad query" log is silenced for the declaring thread only, and never
    left silenced (odoo.tools.mute_logger swaps handlers process-wide, which two
    overlapping threads could leave muted for good)."""

    def test_other_threads_still_log_and_nothing_stays_muted(self):
        inside, release = threading.Event(), threading.Event()

        def expecting_thread():
            with expected_sql_failure():
                inside.set()
                release.wait(5)
                SQL_LOGGER.error("expected failure, silenced")

        thread = threading.Thread(target=expecting_thread)
        thread.start()
        inside.wait(5)
        with self.assertLogs("odoo.sql_db", level="ERROR") as captured:
            SQL_LOGGER.error("another thread's failure")
            release.set()
            thread.join(5)
        self.assertEqual(
            captured.output, ["ERROR:odoo.sql_db:another thread's failure"]
        )
        with self.assertLogs("odoo.sql_db", level="ERROR") as captured:
            SQL_LOGGER.error("after the block")
        self.assertEqual(len(captured.output), 1)

    def test_nested_blocks(self):
        with self.assertLogs("odoo.sql_db", level="ERROR") as captured:
            with expected_sql_failure():
                with expected_sql_failure():
                    SQL_LOGGER.error("silenced")
                SQL_LOGGER.error("still silenced")
            SQL_LOGGER.error("logged")
        self.assertEqual(captured.output, ["ERROR:odoo.sql_db:logged"])

    def test_overlapping_threads_leave_the_logger_as_it_was(self):
        before = (list(SQL_LOGGER.handlers), SQL_LOGGER.propagate)
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

        def first():
            with expected_sql_failure():
                a_in.set()
                b_in.wait(5)
            a_out.set()

        def second():
            a_in.wait(5)
            with expected_sql_failure():
                b_in.set()
                a_out.wait(5)

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        self.assertEqual((list(SQL_LOGGER.handlers), SQL_LOGGER.propagate), before)
