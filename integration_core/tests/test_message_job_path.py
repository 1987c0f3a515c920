"""What a message's job costs and keeps: the row lock reading the message, the
savepoint around the handler, the backend's settings from the worker's cache."""

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..exceptions import RetryableError
from .common import IntegrationCase, recorded_statements, statements_like


@tagged("post_install", "-at_install")
class TestMessageJobPath(IntegrationCase):
    def test_job_statements(self):
        """Beyond queue_job's: the SAVEPOINT around the handler (never
        released: the commit ends it) with the lock reading the message and the
        transaction's clock, and the attempt's INSERT with the outcome's
        UPDATE."""
        self.handlers["test/create"] = lambda message: None
        message = self.receive(key="counted")
        self.env.flush_all()
        self.env.invalidate_all()
        # the worker's cache of backend settings, warm in a running server
        message._cached_backend()
        self.env.invalidate_all()
        # as in a job's new transaction: its clock not read yet
        self.env.cr._now = None
        with recorded_statements() as statements:
            self.assertEqual(message.sudo()._job_process(), "done")
            self.env.flush_all()
        messages = statements_like(statements, "SAVEPOINT")
        self.assertEqual(len(messages), 1, statements)
        self.assertIn('; SELECT "id", "backend_id"', messages[0])
        self.assertIn("FOR UPDATE SKIP LOCKED", messages[0])
        self.assertFalse(
            [s for s in statements if "FROM integration_inbox_message" in s],
            "the message is read with its lock, once",
        )
        self.assertFalse(statements_like(statements, 'SELECT "integration_backend"'))
        self.assertFalse(statements_like(statements, "RELEASE"), statements)
        self.assertIn("now()", messages[0])
        (outcome,) = statements_like(statements, "WITH inserted AS (INSERT INTO")
        self.assertIn('UPDATE "integration_inbox_message"', outcome)
        self.assertEqual(len(statements), 2, "\n".join(statements))
        self.assertEqual(message.write_date, self.env.cr.now())
        self.assertEqual(message.attempt_count, 1)
        self.assertRecordValues(
            message.attempt_ids, [{"outcome": "done", "error": False}]
        )

    def _inbox_updates(self):
        """(updates, HOT updates) of the inbox table in this transaction."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
               WHERE relname = 'integration_inbox_message'"""
        )
        return self.env.cr.fetchone()

    def test_outcome_is_a_hot_update(self):
        """No index reads what a message's outcome changes: its row is updated
        in place, without new index entries."""
        self.handlers["test/create"] = lambda message: None
        message = self.receive(key="hot")
        updates, hot = self._inbox_updates()
        self.assertEqual(message.sudo()._job_process(), "done")
        after_updates, after_hot = self._inbox_updates()
        self.assertEqual(after_updates - updates, 1)
        self.assertEqual(after_hot - hot, 1, "the outcome's UPDATE is HOT")
        self.env.cr.execute(
            """SELECT indexname FROM pg_indexes
               WHERE tablename = 'integration_inbox_message'
                 AND indexdef ~ '\\m(state|attempt_count|done_at|write_date)\\M'"""
        )
        self.assertFalse(self.env.cr.fetchall())

    def test_attempt_row_locks_no_shared_row(self):
        """The attempt's INSERT checks no foreign key but its message's, which
        the job holds already: a key to res_users had each job lock the same
        user row, a MultiXact once two workers did it at once."""
        self.env.cr.execute(
            """SELECT confrelid::regclass::text FROM pg_constraint
               WHERE conrelid = 'integration_message_attempt'::regclass
                 AND contype = 'f'"""
        )
        self.assertEqual(
            sorted(table for (table,) in self.env.cr.fetchall()),
            [
                "integration_event_delivery",
                "integration_inbox_message",
                "integration_outbox_message",
            ],
        )
        self.env.cr.execute(
            """SELECT indexdef FROM pg_indexes
               WHERE tablename = 'integration_message_attempt'
                 AND indexname != 'integration_message_attempt_pkey'"""
        )
        definitions = [definition for (definition,) in self.env.cr.fetchall()]
        self.assertEqual(len(definitions), 3)
        for definition in definitions:
            self.assertIn("IS NOT NULL", definition, "a link of one kind only")

    def test_lock_reads_the_row_afresh(self):
        message = self.receive(key="fresh")
        self.assertEqual(message.attempt_count, 0)
        # as another transaction would have written it before the lock
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_inbox_message SET attempt_count = 7 WHERE id = %s",
            (message.id,),
        )
        self.assertTrue(message.sudo()._lock())
        with recorded_statements() as statements:
            self.assertEqual(message.attempt_count, 7)
            self.assertEqual(message.sudo().payload, {"id": "fresh"})
        self.assertFalse(statements)

    def test_lock_keeps_pending_writes(self):
        """Flushed once the row is locked, and read after."""
        message = self.receive(key="pending").sudo()
        self.env.flush_all()
        message.priority = 3
        self.assertTrue(message._lock())
        self.assertEqual(message.priority, 3)
        self.env.cr.execute(
            "SELECT priority FROM integration_inbox_message WHERE id = %s",
            (message.id,),
        )
        self.assertEqual(self.env.cr.fetchone(), (3,))

    def test_lock_outside_sudo_leaves_reading_to_the_orm(self):
        """Field groups and record rules apply: a user's lock caches nothing,
        the raw payload stays out of their reach."""
        message = self.receive(key="user-lock")
        user = new_test_user(
            self.env, "lock_user", groups="integration_core.group_integration_user"
        )
        as_user = message.with_user(user)
        self.assertTrue(as_user._lock())
        self.assertFalse(self.env.cache.contains(message, message._fields["payload"]))
        with self.assertRaises(AccessError):
            _payload = as_user.payload

    def test_handler_error_at_flush_is_undone_and_recorded(self):
        """The handler's pending writes are flushed in its savepoint: an error
        there is the handler's, its work undone, the attempt recorded."""

        def handler(message):
            partner = self.env["res.partner"].create({"name": "x", "ref": "flushed"})
            # a contact needs a name: refused when flushed, not here
            partner.write({"name": False})

        self.handlers["test/create"] = handler
        message = self.receive(key="flush-fail")
        message._cached_backend()
        with recorded_statements() as statements:
            self.assertEqual(message._job_process(), "failed")
        # the savepoint opened with the lock is the one rolled back
        (savepoint,) = statements_like(statements, "SAVEPOINT")
        self.assertIn("FOR UPDATE SKIP LOCKED", savepoint)
        self.assertEqual(len(statements_like(statements, "ROLLBACK TO SAVEPOINT")), 1)
        self.assertIn("check_name", message.last_error)
        self.assertEqual(message.attempt_ids.outcome, "failed")
        self.assertFalse(self.env["res.partner"].search([("ref", "=", "flushed")]))

    def test_handler_error_after_other_statements_is_undone(self):
        """A statement between the lock and the handler (the staleness check of
        a sequenced message) gets the handler a savepoint of its own."""

        def handler(message):
            self.env["res.partner"].create({"name": "x", "ref": "sequenced"})
            raise RetryableError("later")

        self.handlers["test/create"] = handler
        message = self.receive(
            key="sequenced", sequence_key="order-1", event_at="2026-12-01 10:00:00"
        )
        with recorded_statements() as statements:
            self.assertEqual(message.sudo()._job_process(), "failed")
        self.assertEqual(len(statements_like(statements, "SAVEPOINT")), 2)
        self.assertFalse(self.env["res.partner"].search([("ref", "=", "sequenced")]))
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.attempt_ids.outcome, "failed")
        self.assertEqual(message.attempt_count, 1)

    def test_handler_work_kept_on_success(self):
        self.handlers["test/create"] = self.partner_handler
        message = self.receive(payload={"name": "Kept"}, external_ref="kept")
        self.assertEqual(message._job_process(), "done")
        self.env.invalidate_all()
        self.assertEqual(message._get_record().name, "Kept")

    def test_backend_settings_cache_follows_backend_changes(self):
        message = self.receive(key="settings")
        self.assertEqual(message._cached_backend().retention_days, 30)
        self.backend.retention_days = 5
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(message._cached_backend().retention_days, 5)
