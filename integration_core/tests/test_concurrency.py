import contextlib
import threading
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.service.model import retrying
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_core.models.integration_inbox_message import (
    RETRIED_ON_CONFLICT,
)
from odoo.addons.queue_job.exception import RetryableJobError


@tagged("post_install", "-at_install")
class TestConcurrentReceive(TransactionCase):
    """Two transactions receiving one idempotency key: one message.

    These tests commit through their own cursors and clean up after themselves.
    """

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.backend_id = (
                env["integration.backend"].create({"name": "Concurrency"}).id
            )
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            identities = [
                message._job_identity()
                for model in ("integration.inbox.message", "integration.outbox.message")
                for message in env[model].search([("backend_id", "=", self.backend_id)])
            ]
            env["queue.job"].search([("identity_key", "in", identities)]).unlink()
            env["integration.backend"].browse(self.backend_id).unlink()

    def _race(self, context=None):
        """Two threads receive one key; the first commits only once the second
        has taken its snapshot. Each runs in ``retrying`` as a request does.

        :returns: ``({thread: (message id, created)}, {thread: tries})``
        """
        first_inserted = threading.Event()
        second_started = threading.Event()
        results, errors, tries = {}, [], {"first": 0, "second": 0}

        def receive(name, before_commit=None, wait_for=None):
            try:
                if wait_for:
                    wait_for.wait(10)
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, context or {})

                    def attempt():
                        tries[name] += 1
                        # take the snapshot before the other transaction commits
                        env["integration.backend"].browse(self.backend_id).name  # noqa: B018
                        if name == "second":
                            second_started.set()
                        backend = env["integration.backend"].browse(self.backend_id)
                        message, created = backend._inbox_receive(
                            "t", {"a": 1}, "evt-race"
                        )
                        if before_commit:
                            before_commit()
                        return message.id, created

                    results[name] = retrying(attempt, env)
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        def hold_until_second_waits():
            first_inserted.set()
            second_started.wait(10)

        first = threading.Thread(
            target=receive, args=("first", hold_until_second_waits)
        )
        second = threading.Thread(
            target=receive, args=("second",), kwargs={"wait_for": first_inserted}
        )
        first.start()
        second.start()
        first.join(30)
        second.join(30)
        self.assertFalse(errors)
        self.assertEqual(results["first"][0], results["second"][0])
        self.assertEqual(sorted(c for _id, c in results.values()), [False, True])
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*), max(duplicate_count) FROM integration_inbox_message "
                "WHERE backend_id = %s",
                (self.backend_id,),
            )
            self.assertEqual(cr.fetchone(), (1, 1))
        return results, tries

    def test_concurrent_receive_one_message(self):
        """No error reaches the caller: the duplicate is counted in one try."""
        _results, tries = self._race()
        self.assertEqual(tries, {"first": 1, "second": 1})

    def test_concurrent_receive_in_a_retried_request(self):
        """The webhook route skips the savepoint: Odoo's retry counts the duplicate."""
        _results, tries = self._race({RETRIED_ON_CONFLICT: True})
        self.assertEqual(tries, {"first": 1, "second": 2})

    @contextlib.contextmanager
    def _locked_elsewhere(self, model, message_id):
        """``(holder, message)``: a cursor holding the row's lock, and the
        message read through another cursor."""
        with self.registry.cursor() as holder, self.registry.cursor() as other:
            message = api.Environment(other, SUPERUSER_ID, {})[model].browse(message_id)
            holder.execute(
                f"SELECT id FROM {message._table} WHERE id = %s FOR UPDATE",  # noqa: S608
                (message_id,),
            )
            yield holder, message

    def test_a_row_locked_elsewhere_is_not_taken(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["integration.backend"].browse(self.backend_id)
            message_id = backend._inbox_receive("integration.ping", {}, "lock-1")[0].id
        with self._locked_elsewhere("integration.inbox.message", message_id) as (
            holder,
            message,
        ):
            # taken by another transaction: no error, no wait, not ours
            self.assertFalse(message._lock())
            # its job retries soon (a duplicate being counted holds the row)
            with self.assertRaises(RetryableJobError) as caught:
                message._job_process()
            self.assertTrue(caught.exception.ignore_retry)
            holder.rollback()
            self.assertTrue(message._lock())

    def test_a_locked_outbox_message_job_retries_later(self):
        """Its lock holder may be writing a newer value of its coalesce key in
        place: queue_job retries the send job soon, no attempt spent."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["integration.backend"].browse(self.backend_id)
            message_id = backend._outbox_enqueue(
                "inventory/set", {"qty": 1}, coalesce_key="sku:A"
            ).id
        with self._locked_elsewhere("integration.outbox.message", message_id) as (
            _holder,
            message,
        ):
            with self.assertRaises(RetryableJobError) as caught:
                message._job_send()
            self.assertTrue(caught.exception.ignore_retry)
            self.assertEqual((message.state, message.attempt_count), ("pending", 0))


@tagged("post_install", "-at_install")
class TestConcurrentProcessing(TransactionCase):
    """Two jobs updating one record at once: the loser retries within seconds.

    These tests commit through their own cursors and clean up after themselves.
    """

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            policy = env["integration.retry.policy"].create(
                {"name": "Conflict test policy", "initial_delay": 30, "jitter": 0}
            )
            backend = env["integration.backend"].create(
                {"name": "Concurrent processing", "retry_policy_id": policy.id}
            )
            self.partner_id = env["res.partner"].create({"name": "Shared"}).id
            self.message_ids = [
                backend._inbox_receive("test/shared", {"n": n}, f"evt-{n}")[0].id
                for n in (1, 2)
            ]
            self.backend_id, self.policy_id = backend.id, policy.id
            # as queue_job runs them: their jobs are started, a retry is a new job
            cr.execute(
                "UPDATE queue_job SET state = 'started' WHERE identity_key IN %s",
                (
                    tuple(
                        f"integration.inbox.message:{message_id}"
                        for message_id in self.message_ids
                    ),
                ),
            )
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            messages = env["integration.inbox.message"].browse(self.message_ids)
            identities = [m._job_identity() for m in messages]
            env["queue.job"].search([("identity_key", "in", identities)]).unlink()
            env["integration.backend"].browse(self.backend_id).unlink()
            env["integration.retry.policy"].browse(self.policy_id).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def _process_concurrently(self):
        """Each message's job in its own thread and transaction; the first
        commits its update of the shared partner only after the second has taken
        its snapshot, so the second meets a serialization failure."""
        first_wrote = threading.Event()
        second_started = threading.Event()
        outcomes, errors = {}, []
        partner_id = self.partner_id

        def handler(message):
            partner = message.env["res.partner"].browse(partner_id)
            if message.id == self.message_ids[1]:
                second_started.set()
            partner.write({"comment": f"message {message.id}"})
            partner.flush_recordset()
            if message.id == self.message_ids[0]:
                first_wrote.set()
                second_started.wait(10)
            return partner

        def process(message_id, wait_for=None):
            try:
                if wait_for:
                    wait_for.wait(10)
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    message = env["integration.inbox.message"].browse(message_id)
                    outcomes[message_id] = message._job_process()
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        self.patch(
            type(self.env["integration.backend"]),
            "_get_inbox_handler",
            lambda backend, topic: handler,
        )
        first_id, second_id = self.message_ids
        threads = [
            threading.Thread(target=process, args=(first_id,)),
            threading.Thread(target=process, args=(second_id, first_wrote)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertFalse(errors)
        return outcomes

    def test_conflict_retried_within_seconds_without_spending_an_attempt(self):
        first_id, second_id = self.message_ids
        started = fields.Datetime.now()
        outcomes = self._process_concurrently()
        self.assertEqual(outcomes, {first_id: "done", second_id: "conflict"})
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            loser = env["integration.inbox.message"].browse(second_id)
            self.assertEqual(loser.state, "failed")
            self.assertEqual(loser.attempt_count, 0, "a conflict spends no attempt")
            self.assertEqual(loser.conflict_count, 1)
            self.assertIn("SerializationFailure", loser.last_error)
            self.assertLessEqual(loser.next_attempt_at, started + timedelta(seconds=3))
            job = env["queue.job"].search(
                [
                    ("identity_key", "=", loser._job_identity()),
                    ("state", "=", "pending"),
                ]
            )
            self.assertEqual(len(job), 1)
            self.assertLessEqual(job.eta, started + timedelta(seconds=3))
            self.assertEqual(loser.attempt_ids.outcome, "conflict")
            # the retry, once the other transaction is over, applies it
            self.assertEqual(loser._job_process(), "done")
            self.assertEqual(loser.conflict_count, 0)
            self.assertEqual(loser.attempt_count, 1)
