from datetime import timedelta
from unittest.mock import patch

import psycopg2

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_core.exceptions import (
    DependencyNotReady,
    IllegalTransition,
    OutboundDeferred,
    PermanentError,
    RetryableError,
    ReviewRequired,
)
from odoo.addons.integration_core.sql_insert import (
    execute_in_savepoint,
    flush_with_insert,
    insert_row,
)
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import IntegrationCase, recorded_statements, statements_like

INBOX_STATES = ("received", "queued", "processing", "done", "failed", "dead", "ignored")
OUTBOX_STATES = (
    "pending",
    "sending",
    "sent",
    "failed",
    "dead",
    "superseded",
    "cancelled",
)


@tagged("post_install", "-at_install")
class TestStateMachine(IntegrationCase):
    def _check_transitions(self, model, states, make):
        transitions = type(model)._transitions
        for source in states:
            for target in states:
                message = make()
                message.write({"state": source})
                with self.subTest(source=source, target=target):
                    if target in transitions.get(source, ()):
                        message._set_state(target)
                        self.assertEqual(message.state, target)
                    else:
                        with self.assertRaises(IllegalTransition):
                            message._set_state(target)
                        self.assertEqual(message.state, source)

    def _maker(self, model):
        counter = iter(range(10**6))

        def make():
            return model.create(
                {
                    "backend_id": self.backend.id,
                    "topic": "t",
                    "idempotency_key": f"k{next(counter)}",
                }
            )

        return make

    def test_inbox_transitions(self):
        model = self.env["integration.inbox.message"]
        self._check_transitions(model, INBOX_STATES, self._maker(model))

    def test_outbox_transitions(self):
        model = self.env["integration.outbox.message"]
        self._check_transitions(model, OUTBOX_STATES, self._maker(model))

    def test_illegal_transition_message_is_clear(self):
        message = self.receive()
        with self.assertRaisesRegex(IllegalTransition, "cannot go from queued to done"):
            message._set_state("done")


@tagged("post_install", "-at_install")
class TestReceive(IntegrationCase):
    def test_receive_creates_queued_message_and_one_job(self):
        with trap_jobs() as trap:
            message, created = self.backend._inbox_receive(
                "test/create",
                {"id": 7},
                "evt-1",
                external_ref=7,
                sequence_key="order:7",
                headers={"Content-Type": "application/json", "Authorization": "x"},
            )
            self.assertTrue(created)
            self.assertEqual(message.state, "queued")
            self.assertEqual(message.external_ref, "7")
            self.assertTrue(message.correlation_id)
            self.assertEqual(message.headers, {"Content-Type": "application/json"})
            trap.assert_jobs_count(1, only=message._job_process)
            job = trap.enqueued_jobs[0]
            self.assertEqual(job.channel, "root.integration.generic.inbound")
            self.assertEqual(
                job.identity_key, f"integration.inbox.message:{message.id}"
            )

    def test_received_rows_as_the_orm_and_queue_job_store_them(self):
        """The hot path inserts message and job without create(): the rows read
        back like created ones and queue_job loads and runs the job."""
        self.handlers["test/rows"] = lambda message: message.backend_id
        message, _created = self.backend._inbox_receive(
            "test/rows", {"id": 1}, "evt-rows", external_ref=1
        )
        self.env.invalidate_all()
        self.assertRecordValues(
            message,
            [
                {
                    "state": "queued",
                    "backend_type": "generic",
                    "company_id": self.backend.company_id.id,
                    "payload": {"id": 1},
                    "external_ref": "1",
                    "duplicate_count": 0,
                    "attempt_count": 0,
                    "priority": self.backend._get_topic_priority("test/rows"),
                    "create_uid": self.env.uid,
                }
            ],
        )
        self.assertTrue(message.received_at and message.create_date)
        job_record = self.env["queue.job"].search(
            [("identity_key", "=", message._job_identity())]
        )
        self.assertRecordValues(
            job_record,
            [
                {
                    "state": "pending",
                    "channel": "root.integration.generic.inbound",
                    "model_name": "integration.inbox.message",
                    "method_name": "_job_process",
                    "company_id": self.backend.company_id.id,
                    "user_id": self.env.uid,
                }
            ],
        )
        self.assertTrue(job_record.job_function_id)
        self.assertEqual(job_record.records, message)
        Job.load(self.env, job_record.uuid).perform()
        self.assertEqual(message.state, "done")

    def pop_job_row(self, message):
        """The columns of the message's job row that are the same on every
        insert of that job; the row is deleted."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT * FROM queue_job WHERE identity_key = %s",
            (message._job_identity(),),
        )
        (row,) = self.env.cr.dictfetchall()
        self.env.cr.execute("DELETE FROM queue_job WHERE id = %s", (row["id"],))
        for column in ("id", "uuid", "date_created"):
            self.assertTrue(row.pop(column))
        return row

    def test_first_job_row_as_queue_job_stores_it(self):
        """A received message's first job is inserted from the row template, not
        through queue_job's Job: its row holds what queue_job stores for the same
        job, but for the columns that are new on every job."""
        message, _created = self.backend._inbox_receive(
            "test/template", {"id": 2}, "evt-template"
        )
        self.assertTrue(message.sudo()._inserts_job_rows())
        inserted = self.pop_job_row(message)
        message._delay_job(None, "Process")  # queue_job's own path
        self.assertEqual(inserted, self.pop_job_row(message))

    def test_first_job_row_with_an_eta_as_queue_job_stores_it(self):
        """An outbound message waiting for newer values of its coalesce key: its
        first job's row, inserted from the template, waits as queue_job's would."""
        self.backend.coalesce_delay = 30
        message = self.backend._outbox_enqueue(
            "test/coalesced", {"qty": 1}, coalesce_key="sku-template"
        )
        self.assertTrue(message.next_attempt_at)
        inserted = self.pop_job_row(message)
        self.assertEqual(inserted["eta"], message.next_attempt_at)
        message._delay_job(message.next_attempt_at, "Send")  # queue_job's own path
        self.assertEqual(inserted, self.pop_job_row(message))

    def test_first_job_row_of_each_company(self):
        """The row template is kept per stored context: a message of another
        company's backend gets that company's job, not the first one's."""
        other_company = self.env["res.company"].create({"name": "Template Co"})
        other_backend = self.backend.copy(
            {"name": "other company", "company_id": other_company.id}
        )
        rows = {}
        for backend in (self.backend, other_backend):
            message, _created = backend._inbox_receive(
                "test/template", {"id": 3}, f"evt-company-{backend.id}"
            )
            rows[backend] = self.env["queue.job"].search(
                [("identity_key", "=", message._job_identity())]
            )
        for backend, job in rows.items():
            self.assertEqual(job.company_id, backend.company_id)
            self.assertEqual(job.records.env.company, backend.company_id)

    def test_first_job_through_queue_job_when_the_model_customises_it(self):
        """A message model customising queue_job's stored values keeps
        queue_job's path: the template would not hold them."""
        messages = self.env["integration.inbox.message"].sudo()
        self.assertTrue(messages._inserts_job_rows())
        with patch.object(
            type(messages), "_job_store_values", lambda self, job: {}, create=True
        ):
            self.assertFalse(messages._inserts_job_rows())
        with trap_jobs():
            self.assertFalse(messages._inserts_job_rows())
        self.assertFalse(
            messages.with_context(queue_job__no_delay=True)._inserts_job_rows()
        )

    def test_insert_row_refuses_fields_without_column(self):
        with self.assertRaisesRegex(ValueError, "payload_pretty is not a stored"):
            insert_row(
                self.env["integration.inbox.message"],
                {"payload_pretty": "x", "topic": "t"},
            )

    def test_one_job_per_received_message(self):
        with trap_jobs() as trap:
            messages = [self.receive(key=f"evt-{n}") for n in range(5)]
            self.receive(key="evt-0")  # duplicate: no new job
            trap.assert_jobs_count(5)
            self.assertEqual(
                sorted(job.recordset.id for job in trap.enqueued_jobs),
                sorted(m.id for m in messages),
            )
            self.assertEqual(
                {job.channel for job in trap.enqueued_jobs},
                {"root.integration.generic.inbound"},
            )

    def test_receives_in_one_transaction_send_one_statement_each(self):
        """The savepoint that catches a concurrent delivery's conflict is
        opened by the insert's own statement and released by the next one's:
        no SAVEPOINT and RELEASE round trips of their own."""
        self.receive(key="batch-warm")  # the backend's values in the cache
        self.env.flush_all()
        with recorded_statements() as statements:
            for n in range(3):
                self.receive(key=f"batch-{n}")
        self.assertEqual(len(statements), 3, "\n".join(s[:100] for s in statements))
        for statement in statements:
            # the previous receive's savepoint (the warm-up's, for the first)
            self.assertTrue(statement.startswith("RELEASE SAVEPOINT"), statement)
            self.assertIn('; SAVEPOINT "', statement)
            self.assertIn("INSERT INTO", statement)

    def test_failed_statement_undone_in_its_savepoint_alone(self):
        cr = self.env.cr
        cr.execute("CREATE TEMPORARY TABLE savepoint_probe (n integer)")
        execute_in_savepoint(cr, "INSERT INTO savepoint_probe VALUES (%s)", [1])
        with (
            self.assertRaises(psycopg2.errors.DivisionByZero),
            mute_logger("odoo.sql_db"),
        ):
            execute_in_savepoint(cr, "INSERT INTO savepoint_probe VALUES (1/0)", ())
        execute_in_savepoint(cr, "INSERT INTO savepoint_probe VALUES (%s)", [2])
        cr.execute("SELECT n FROM savepoint_probe ORDER BY n")
        self.assertEqual(cr.fetchall(), [(1,), (2,)])

    def test_custom_channel(self):
        self.backend.inbound_channel = "root.integration.custom"
        with trap_jobs() as trap:
            self.receive()
            self.assertEqual(trap.enqueued_jobs[0].channel, "root.integration.custom")

    def test_duplicate_receive(self):
        first, created = self.backend._inbox_receive("t", {"a": 1}, "same")
        second, created_again = self.backend._inbox_receive("t", {"a": 1}, "same")
        self.assertTrue(created)
        self.assertFalse(created_again)
        self.assertEqual(first, second)
        self.assertEqual(first.duplicate_count, 1)
        self.assertEqual(
            self.env["integration.inbox.message"].search_count(
                [("backend_id", "=", self.backend.id), ("idempotency_key", "=", "same")]
            ),
            1,
        )

    def test_same_key_on_two_backends(self):
        other = self.backend.copy({"name": "Other"})
        first, _created = self.backend._inbox_receive("t", {}, "k")
        second, created = other._inbox_receive("t", {}, "k")
        self.assertTrue(created)
        self.assertNotEqual(first, second)

    def test_missing_key_derived_from_payload(self):
        first, _c = self.backend._inbox_receive("t", {"a": 1, "b": 2}, None)
        second, created = self.backend._inbox_receive("t", {"b": 2, "a": 1}, None)
        self.assertFalse(created)
        self.assertEqual(first, second)


@tagged("post_install", "-at_install")
class TestProcessing(IntegrationCase):
    def test_success_links_record(self):
        self.handlers["test/create"] = self.partner_handler
        message = self.receive(payload={"name": "Ada"}, external_ref="p1")
        self.assertEqual(message._job_process(), "done")
        self.assertEqual(message.state, "done")
        self.assertTrue(message.done_at)
        self.assertEqual(message.attempt_count, 1)
        partner = message._get_record()
        self.assertEqual(partner.ref, "p1")
        self.assertEqual(message.attempt_ids.outcome, "done")
        self.assertGreaterEqual(message.attempt_ids.duration_ms, 0)

    def _attempt_values(self, message, outcome):
        return {
            "inbox_message_id": message.id,
            "started_at": fields.Datetime.now(),
            "outcome": outcome,
        }

    def test_flush_with_insert_writes_the_record_and_the_row(self):
        message = self.receive(key="merged")
        self.env.flush_all()
        message.write({"last_error": "noted", "conflict_count": 2})
        attempts = self.env["integration.message.attempt"].sudo()
        with recorded_statements() as statements:
            flush_with_insert(message, attempts, self._attempt_values(message, "done"))
        self.assertEqual(len(statements), 1, statements)
        self.assertFalse(self.env.cache.has_dirty_fields(message))
        self.env.invalidate_all()
        self.assertEqual((message.last_error, message.conflict_count), ("noted", 2))
        self.assertEqual(message.attempt_ids.outcome, "done")

    def test_flush_with_insert_leaves_other_records_to_the_orm(self):
        """Another message with the same field pending: the ORM flushes them,
        then the row is inserted on its own."""
        message = self.receive(key="first")
        other = self.receive(key="second")
        self.env.flush_all()
        message.last_error = "mine"
        other.last_error = "theirs"
        attempts = self.env["integration.message.attempt"].sudo()
        with recorded_statements() as statements:
            flush_with_insert(
                message, attempts, self._attempt_values(message, "failed")
            )
        self.assertFalse(statements_like(statements, "WITH inserted"), statements)
        self.assertEqual(
            len(
                statements_like(statements, 'INSERT INTO "integration_message_attempt"')
            ),
            1,
            statements,
        )
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual((message.last_error, other.last_error), ("mine", "theirs"))
        self.assertEqual(message.attempt_ids.outcome, "failed")
        self.assertFalse(other.attempt_ids)

    def test_attempt_is_one_update_with_its_outcome(self):
        """The attempt's start (``processing``, one more attempt) is written with
        its outcome: one UPDATE of the message, in the statement inserting its
        attempt."""
        seen = {}

        def handler(message):
            seen["state"] = message.state
            return None

        self.handlers["test/create"] = handler
        message = self.receive()
        self.env.flush_all()
        before = fields.Datetime.now()
        with recorded_statements() as statements:
            self.assertEqual(message._job_process(), "done")
            self.env.flush_all()
        writes = [
            statement
            for prefix in ("UPDATE", "INSERT", "WITH")
            for statement in statements_like(statements, prefix)
        ]
        self.assertEqual(len(writes), 1, statements)
        self.assertTrue(
            statements_like(
                writes, 'WITH inserted AS (INSERT INTO "integration_message_attempt"'
            ),
            writes,
        )
        self.assertIn('UPDATE "integration_inbox_message"', writes[0])
        self.assertEqual(seen["state"], "queued")
        self.assertEqual((message.state, message.attempt_count), ("done", 1))
        self.assertGreaterEqual(
            message.processing_started_at, before.replace(microsecond=0)
        )
        self.assertEqual(message.attempt_ids.started_at, message.processing_started_at)

    def test_unknown_topic_ignored(self):
        message = self.receive(topic="nobody/handles")
        self.assertEqual(message._job_process(), "ignored")
        self.assertEqual(message.state, "ignored")
        self.assertIn("no handler", message.ignore_reason)

    def test_retryable_error_rolls_back_and_schedules(self):
        def failing(message):
            self.env["res.partner"].create({"name": "rolled back", "ref": "rb"})
            raise RetryableError("provider busy")

        self.handlers["test/create"] = failing
        message = self.receive()
        before = fields.Datetime.now()
        with trap_jobs() as trap:
            self.assertEqual(message._job_process(), "failed")
            trap.assert_jobs_count(1, only=message._job_process)
            self.assertEqual(trap.enqueued_jobs[0].eta, message.next_attempt_at)
        self.assertEqual(message.state, "failed")
        self.assertIn("provider busy", message.last_error)
        self.assertFalse(self.env["res.partner"].search([("ref", "=", "rb")]))
        delay = (message.next_attempt_at - before).total_seconds()
        # first retry: 30 s +/- 10%, at second precision
        self.assertGreaterEqual(delay, 27 - 1)
        self.assertLessEqual(delay, 33 + 1)
        self.assertEqual(message.attempt_ids.outcome, "failed")
        self.assertIn("provider busy", message.attempt_ids.error)

    def test_retryable_error_seconds_override(self):
        def failing(message):
            raise RetryableError("later", seconds=500)

        self.handlers["test/create"] = failing
        message = self.receive()
        before = fields.Datetime.now()
        message._job_process()
        delay = (message.next_attempt_at - before).total_seconds()
        self.assertAlmostEqual(delay, 500, delta=2)

    def test_dead_after_max_attempts(self):
        def failing(message):
            raise ValueError("boom")

        self.handlers["test/create"] = failing
        message = self.receive()
        outcomes = [message._job_process() for _ in range(3)]
        self.assertEqual(outcomes, ["failed", "failed", "dead"])
        self.assertEqual(message.state, "dead")
        self.assertEqual(message.attempt_count, 3)
        self.assertEqual(len(message.attempt_ids), 3)
        self.assertIn("ValueError: boom", message.last_error)
        self.assertIn("Traceback", message.last_traceback)
        # a dead message is not processed by a stray job
        self.assertIn("nothing to do", message._job_process())

    def test_permanent_error_dead_at_once(self):
        def failing(message):
            self.env["res.partner"].create({"name": "rolled back", "ref": "perm"})
            raise PermanentError("unknown SKU")

        self.handlers["test/create"] = failing
        message = self.receive()
        self.assertEqual(message._job_process(), "dead")
        self.assertEqual(message.attempt_count, 1)
        self.assertIn("unknown SKU", message.last_error)
        self.assertFalse(self.env["res.partner"].search([("ref", "=", "perm")]))

    def test_database_error_in_handler_is_retryable(self):
        def failing(message):
            self.env.cr.execute("SELECT 1/0")

        self.handlers["test/create"] = failing
        message = self.receive()
        self.assertEqual(message._job_process(), "failed")
        self.assertIn("DivisionByZero", message.last_error)

    def test_review_required_keeps_the_work_and_is_dead_visibly(self):
        def needs_review(message):
            partner = self.env["res.partner"].create({"name": "Kept"})
            raise ReviewRequired("amounts differ", record=partner)

        self.handlers["test/create"] = needs_review
        message = self.receive(key="rev-1")
        self.assertEqual(message._job_process(), "dead")
        self.assertEqual(message.last_error, "ReviewRequired: amounts differ")
        partner = message._get_record()
        self.assertEqual(partner.name, "Kept", "the handler's work is kept")
        self.assertIn("amounts differ", message.last_traceback)
        self.assertEqual(message.attempt_ids.outcome, "dead")

    def test_conflicts_retried_soon_a_bounded_number_of_times(self):
        def conflicting(message):
            raise psycopg2.errors.SerializationFailure("concurrent update")

        self.policy.conflict_retries = 2
        self.handlers["test/create"] = conflicting
        message = self.receive()
        for retry in (1, 2):
            before = fields.Datetime.now()
            self.assertEqual(message._job_process(), "conflict")
            self.assertEqual(message.attempt_count, 0)
            self.assertEqual(message.conflict_count, retry)
            self.assertLessEqual(message.next_attempt_at, before + timedelta(seconds=3))
        # then the retry policy takes over, with a fresh conflict budget
        before = fields.Datetime.now()
        self.assertEqual(message._job_process(), "failed")
        self.assertEqual(message.attempt_count, 1)
        self.assertEqual(message.conflict_count, 0)
        self.assertGreaterEqual(message.next_attempt_at, before + timedelta(seconds=25))
        self.assertEqual(
            message.attempt_ids.mapped("outcome"), ["failed", "conflict", "conflict"]
        )

    def test_stale_message_ignored(self):
        self.handlers["order/updated"] = self.partner_handler
        newer = self.receive(
            "order/updated",
            {"name": "new"},
            key="u2",
            external_ref="o1",
            sequence_key="order:1",
            event_at=self.ago(minutes=1),
        )
        older = self.receive(
            "order/updated",
            {"name": "old"},
            key="u1",
            external_ref="o1",
            sequence_key="order:1",
            event_at=self.ago(minutes=5),
        )
        self.assertEqual(newer._job_process(), "done")
        self.assertEqual(older._job_process(), "ignored")
        self.assertIn("stale", older.ignore_reason)
        self.assertEqual(
            self.env["res.partner"].search([("ref", "=", "o1")]).name, "new"
        )

    def test_dependency_not_ready_waits_then_processes(self):
        def refund(message):
            order = self.env["res.partner"].search(
                [("ref", "=", message.payload["order"])]
            )
            if not order:
                raise DependencyNotReady("order not received yet")
            return order.copy({"ref": message.external_ref})

        self.handlers["refund/create"] = refund
        self.handlers["order/create"] = self.partner_handler
        refund_msg = self.receive(
            "refund/create", {"order": "o9"}, key="r1", external_ref="r1"
        )
        for _ in range(5):  # more waits than the attempt budget (3)
            self.assertEqual(refund_msg._job_process(), "waiting")
        self.assertEqual(refund_msg.state, "failed")
        self.assertEqual(refund_msg.attempt_count, 0, "waiting spends no attempts")
        self.assertEqual(refund_msg.dependency_wait_count, 5)
        self.assertIn("waiting for dependency", refund_msg.last_error)
        order_msg = self.receive(
            "order/create", {"name": "O9"}, key="o9", external_ref="o9"
        )
        self.assertEqual(order_msg._job_process(), "done")
        self.assertEqual(refund_msg._job_process(), "done")
        self.assertEqual(refund_msg._get_record().ref, "r1")

    def test_dependency_wait_has_an_end(self):
        def refund(message):
            raise DependencyNotReady("never")

        self.handlers["refund/create"] = refund
        message = self.receive("refund/create")
        outcomes = [message._job_process() for _ in range(3 * 4 + 1)]
        self.assertEqual(outcomes[-1], "dead")
        self.assertEqual(message.state, "dead")

    def test_dependency_wait_delay_grows_slowly(self):
        def refund(message):
            raise DependencyNotReady("not yet")

        self.handlers["refund/create"] = refund
        message = self.receive("refund/create")
        before = fields.Datetime.now()
        message._job_process()
        first = (message.next_attempt_at - before).total_seconds()
        self.assertLess(first, 34)

    def test_call_not_made_waits_without_spending_attempts(self):
        # a look-up through _http_request while the provider's circuit is open
        def lookup(message):
            raise OutboundDeferred("circuit open on the provider", seconds=42)

        self.handlers["fee/lookup"] = lookup
        message = self.receive("fee/lookup")
        before = fields.Datetime.now()
        for _ in range(5):  # more than the attempt budget (3)
            self.assertEqual(message._job_process(), "waiting")
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.attempt_count, 0, "nothing was called")
        self.assertIn("circuit open", message.last_error)
        delay = (message.next_attempt_at - before).total_seconds()
        self.assertTrue(41 <= delay <= 44, delay)
        self.assertEqual(len(message.attempt_ids), 5)


@tagged("post_install", "-at_install")
class TestUserActions(IntegrationCase):
    def test_replay_done_message_does_not_duplicate(self):
        self.handlers["test/create"] = self.partner_handler
        message = self.receive(payload={"name": "Ada"}, external_ref="p7")
        message._job_process()
        with trap_jobs() as trap:
            message.action_replay()
            trap.assert_jobs_count(1, only=message._job_process)
        self.assertEqual(message.state, "queued")
        self.assertEqual(message._job_process(), "done")
        self.assertEqual(self.env["res.partner"].search_count([("ref", "=", "p7")]), 1)
        self.assertEqual(len(message.attempt_ids), 2)

    def test_retry_now_failed_and_dead(self):
        calls = []

        def flaky(message):
            calls.append(message.id)
            if len(calls) < 4:
                raise RetryableError("again")
            return self.partner_handler(message)

        self.handlers["test/create"] = flaky
        message = self.receive(external_ref="p8")
        for _ in range(3):
            message._job_process()
        self.assertEqual(message.state, "dead")
        with trap_jobs() as trap:
            message.action_retry_now()
            trap.assert_jobs_count(1)
            self.assertFalse(trap.enqueued_jobs[0].eta)
        self.assertEqual((message.state, message._attempts_in_budget()), ("queued", 0))
        self.assertEqual(message._job_process(), "done")
        self.assertEqual(message.attempt_count, len(message.attempt_ids))

    def test_retry_now_replaces_waiting_job(self):
        def failing(message):
            raise RetryableError("later", seconds=3600)

        self.handlers["test/create"] = failing
        message = self.receive()
        message._job_process()  # real job stored with eta in one hour
        identity = message._job_identity()
        jobs = self.env["queue.job"].search([("identity_key", "=", identity)])
        self.assertEqual(set(jobs.mapped("state")), {"pending"})
        message.action_retry_now()
        jobs = self.env["queue.job"].search(
            [("identity_key", "=", identity), ("state", "=", "pending")]
        )
        self.assertEqual(len(jobs), 1)
        self.assertFalse(jobs.eta)

    def test_mark_ignored_with_reason_from_wizard(self):
        messages = self.receive(key="a") | self.receive(key="b")
        self.ignore_with_wizard(messages, "test data")
        self.assertEqual(set(messages.mapped("state")), {"ignored"})
        self.assertEqual(set(messages.mapped("ignore_reason")), {"test data"})
        jobs = self.env["queue.job"].search(
            [
                ("identity_key", "in", [m._job_identity() for m in messages]),
                ("state", "=", "pending"),
            ]
        )
        self.assertFalse(jobs, "ignored messages keep no waiting job")

    def test_bulk_actions_skip_ineligible(self):
        self.handlers["test/create"] = self.partner_handler
        done = self.receive(key="d", external_ref="d")
        done._job_process()
        queued = self.receive(key="q")
        (done | queued).action_retry_now()
        self.assertEqual(done.state, "done", "retry applies to failed and dead only")
        (done | queued).action_replay()
        self.assertEqual(done.state, "queued")
        self.assertEqual(queued.state, "queued")


@tagged("post_install", "-at_install")
class TestCrons(IntegrationCase):
    def test_stuck_processing_requeued(self):
        stuck = self.receive(key="stuck")
        stuck.write({"state": "processing", "processing_started_at": self.ago(hours=1)})
        fresh = self.receive(key="fresh")
        fresh.write(
            {"state": "processing", "processing_started_at": self.ago(minutes=1)}
        )
        with trap_jobs() as trap:
            recovered = self.env["integration.inbox.message"]._cron_recover_stuck()
            trap.assert_jobs_count(1, only=stuck._job_process)
        self.assertEqual(recovered, stuck)
        self.assertEqual(stuck.state, "queued")
        self.assertEqual(fresh.state, "processing")

    def test_queued_without_live_job_requeued(self):
        orphan = self.receive(key="orphan")
        self.env["queue.job"].search(
            [("identity_key", "=", orphan._job_identity())]
        ).button_cancelled()
        healthy = self.receive(key="healthy")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_inbox_message SET write_date = %s WHERE id IN %s",
            (self.ago(hours=2), (orphan.id, healthy.id)),
        )
        self.env.invalidate_all()
        with trap_jobs() as trap:
            recovered = self.env["integration.inbox.message"]._cron_recover_stuck()
            trap.assert_jobs_count(1)
        self.assertEqual(recovered, orphan)

    def test_retention_purges_old_done_and_ignored_only(self):
        self.backend.retention_days = 10
        self.handlers["test/create"] = self.partner_handler
        old_done = self.receive(key="old-done", external_ref="x")
        old_done._job_process()
        old_ignored = self.receive(topic="nobody", key="old-ignored")
        old_ignored._job_process()
        old_dead = self.receive(key="old-dead")
        old_dead.write({"state": "dead"})
        old_failed = self.receive(key="old-failed")
        old_failed.write({"state": "failed"})
        recent_done = self.receive(key="recent-done", external_ref="y")
        recent_done._job_process()
        old = old_done | old_ignored | old_dead | old_failed
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_inbox_message SET write_date = %s WHERE id IN %s",
            (self.ago(days=11), tuple(old.ids)),
        )
        self.env.invalidate_all()
        purged = self.env["integration.inbox.message"]._cron_purge(batch_size=1)
        self.assertEqual(purged, 2)
        self.assertEqual(
            (old | recent_done).exists(), old_dead | old_failed | recent_done
        )

    def test_crons_registered(self):
        for xmlid in ("cron_recover_stuck_messages", "cron_purge_messages"):
            cron = self.env.ref(f"integration_core.{xmlid}")
            self.assertTrue(cron.active)


@tagged("post_install", "-at_install")
class TestPingTopic(TransactionCase):
    def test_every_backend_processes_ping_as_noop(self):
        backend = self.env["integration.backend"].create({"name": "Ping"})
        message, _created = backend._inbox_receive("integration.ping", {}, "ping-1")
        self.assertEqual(message._job_process(), "done")
        self.assertFalse(message.res_model)


@tagged("post_install", "-at_install")
class TestOutboxCrons(IntegrationCase):
    def enqueue(self, key, **kwargs):
        return self.backend._outbox_enqueue("stock/set", {"qty": 1}, key, **kwargs)

    def test_external_ref_searchable(self):
        message = self.enqueue("o1", external_ref=4501)
        found = self.env["integration.outbox.message"].search(
            [("external_ref", "=", "4501")]
        )
        self.assertEqual(found, message)

    def test_stuck_sending_requeued(self):
        stuck = self.enqueue("stuck")
        stuck.write({"state": "sending"})
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_outbox_message SET write_date = %s WHERE id = %s",
            (self.ago(hours=1), stuck.id),
        )
        self.env.invalidate_all()
        with trap_jobs() as trap:
            recovered = self.env["integration.outbox.message"]._cron_recover_stuck()
            trap.assert_jobs_count(1, only=stuck._job_send)
        self.assertEqual(recovered, stuck)
        self.assertEqual(stuck.state, "pending")

    def test_retention_purges_finished_outbox_only(self):
        self.backend.retention_days = 10
        sent, superseded, dead, recent = (
            self.enqueue(key) for key in ("sent", "superseded", "dead", "recent")
        )
        sent.write({"state": "sent"})
        superseded.write({"state": "superseded"})
        dead.write({"state": "dead"})
        recent.write({"state": "sent"})
        old = sent | superseded | dead
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_outbox_message SET write_date = %s WHERE id IN %s",
            (self.ago(days=11), tuple(old.ids)),
        )
        self.env.invalidate_all()
        self.assertEqual(self.env["integration.outbox.message"]._cron_purge(), 2)
        self.assertEqual((old | recent).exists(), dead | recent)

    def test_coalesce_delay_keeps_first_send_time(self):
        self.backend.coalesce_delay = 5
        before = fields.Datetime.now()
        with trap_jobs() as trap:
            first = self.enqueue("s1", coalesce_key="sku-1")
            second = self.enqueue("s2", coalesce_key="sku-1")
            third = self.enqueue("s3", coalesce_key="sku-1")
            etas = [job.eta for job in trap.enqueued_jobs]
        self.assertEqual((first.state, second.state), ("superseded", "superseded"))
        self.assertEqual(third.state, "pending")
        self.assertAlmostEqual(
            (third.next_attempt_at - before).total_seconds(), 5, delta=2
        )
        self.assertEqual(set(etas), {third.next_attempt_at})
        unkeyed = self.enqueue("s4")
        self.assertFalse(unkeyed.next_attempt_at, "only coalescible messages wait")

    def test_coalesce_window_grows_while_key_keeps_changing(self):
        self.backend.write({"coalesce_delay": 5, "coalesce_max_delay": 15})

        bursts = iter(range(100))

        def burst_after_send(key, sent_ago):
            message = self.enqueue(f"{key}-{next(bursts)}", coalesce_key=key)
            window = message.coalesce_window
            message.write({"state": "sent", "sent_at": self.ago(seconds=sent_ago)})
            return window, message

        before = fields.Datetime.now()
        windows = [burst_after_send("sku-hot", sent_ago=1)[0] for _ in range(4)]
        self.assertEqual(windows, [5, 10, 15, 15], "doubled, up to the ceiling")
        waiting = self.enqueue("hot-last", coalesce_key="sku-hot")
        self.assertAlmostEqual(
            (waiting.next_attempt_at - before).total_seconds(), 15, delta=2
        )
        first_send = waiting.next_attempt_at
        later = self.enqueue("hot-later", coalesce_key="sku-hot")
        self.assertEqual(
            (later.coalesce_window, later.next_attempt_at),
            (15, first_send),
            "a burst keeps its window and its first send time",
        )
        burst_after_send("sku-quiet", sent_ago=1)
        quiet, _message = burst_after_send("sku-quiet", sent_ago=60)
        self.assertEqual(quiet, 10)
        self.assertEqual(
            self.enqueue("quiet-next", coalesce_key="sku-quiet").coalesce_window,
            5,
            "a key quiet for longer than its last window starts again",
        )
        self.backend.coalesce_max_delay = 0
        self.assertEqual(
            self.enqueue("hot-fixed", coalesce_key="sku-other").coalesce_window, 5
        )


@tagged("post_install", "-at_install")
class TestTopicPriority(IntegrationCase):
    def test_job_priority_follows_topic(self):
        def _get_topic_priority(backend, topic):
            return 5 if topic == "orders/create" else 20

        self.patch(
            type(self.env["integration.backend"]),
            "_get_topic_priority",
            _get_topic_priority,
        )
        with trap_jobs() as trap:
            order = self.receive("orders/create", key="o")
            catalog = self.receive("products/update", key="p")
            priorities = {job.recordset: job.priority for job in trap.enqueued_jobs}
        self.assertEqual((order.priority, catalog.priority), (5, 20))
        self.assertEqual(priorities, {order: 5, catalog: 20})
