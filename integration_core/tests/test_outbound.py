import contextlib
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg2

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import TransactionCase, tagged
from odoo.tests.common import _super_send

from odoo.addons.integration_core.flow_control import FlowStore
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import IntegrationCase, recorded_statements, statements_like
from .http_server import LocalHttpServer, Reply


class OutboundMixin:
    """A local provider and a generic backend pointing at it."""

    @classmethod
    def _request_handler(cls, session, request, **kwargs):
        # Odoo's test guard raises timeouts to 10 s (and rejects the (connect,
        # read) tuple): keep the backend's timeouts for calls to the loopback server.
        if urlsplit(request.url).hostname == "127.0.0.1":
            return _super_send(session, request, **kwargs)
        return super()._request_handler(session, request, **kwargs)

    def start_server(self, **kwargs):
        server = LocalHttpServer(**kwargs).start()
        self.addCleanup(server.stop)
        return server

    def forget_flow(self, backend_ids):
        with self.registry.cursor() as cr:
            FlowStore(cr).forget(backend_ids)


@tagged("post_install", "-at_install")
class TestOutboundDelivery(OutboundMixin, IntegrationCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.backend = self.env["integration.backend"].create(
            {
                "name": "Outbound test",
                "retry_policy_id": self.policy.id,
                "api_base_url": f"{self.server.url}/api",
                "read_timeout": 1.0,
                "circuit_failure_threshold": 3,
                "circuit_cooldown": 2,
            }
        )
        self.addCleanup(self.forget_flow, [self.backend.id])

    def enqueue(self, payload=None, **kwargs):
        return self.backend._outbox_enqueue(
            "inventory/set", payload if payload is not None else {"qty": 1}, **kwargs
        )

    # -- classes of responses --------------------------------------------------------
    def test_success(self):
        with trap_jobs() as trap:
            message = self.enqueue({"sku": "A", "qty": 5})
            trap.assert_jobs_count(1, only=message._job_send)
            self.assertEqual(self.server.requests, [], "nothing sent before commit")
            trap.perform_enqueued_jobs()
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.response_status, 200)
        self.assertIn('"ok"', message.response_body)
        self.assertTrue(message.sent_at)
        self.assertEqual(message.attempt_count, 1)
        self.assertEqual(message.attempt_ids.outcome, "sent")
        [request] = self.server.requests
        self.assertEqual((request.method, request.path), ("POST", "/api/inventory/set"))
        self.assertEqual(request.json, {"sku": "A", "qty": 5})
        self.assertIn("Integration-Suite", request.headers["User-Agent"])
        self.assertEqual(request.headers["Content-Type"], "application/json")

    def test_500_then_success_same_idempotency_key(self):
        self.server.script(Reply(500, {"error": "boom"}))
        message = self.enqueue()
        with trap_jobs() as trap:
            self.assertEqual(message._job_send(), "failed")
            trap.assert_jobs_count(1, only=message._job_send)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.attempt_count, 1)
        self.assertEqual(message.response_status, 500)
        low = fields.Datetime.now() + timedelta(seconds=25)
        self.assertGreaterEqual(message.next_attempt_at, low, "policy delay (30 s)")
        self.assertEqual(message._job_send(), "sent")
        self.assertEqual(message.attempt_count, 2)
        self.assertEqual(
            message.attempt_ids.sorted("id").mapped("outcome"), ["failed", "sent"]
        )
        keys = [r.headers.get("Idempotency-Key") for r in self.server.requests]
        self.assertEqual(keys, [message.idempotency_key] * 2)
        self.assertTrue(message.idempotency_key)

    def test_429_retry_after_waits(self):
        self.server.script(Reply(429, {"error": "slow down"}, {"Retry-After": "2"}))
        message = self.enqueue()
        with trap_jobs() as trap:
            self.assertEqual(message._job_send(), "failed")
            [job] = trap.enqueued_jobs
        now = fields.Datetime.now()
        self.assertGreaterEqual(job.eta, now + timedelta(seconds=1))
        self.assertLessEqual(
            job.eta, now + timedelta(seconds=3), "Retry-After, not policy"
        )
        # even run at once, the retry does not reach the provider before 2 s
        self.assertEqual(message._job_send(), "sent")
        first, second = self.server.requests
        self.assertGreaterEqual(second.at - first.at, 2.0)

    def test_timeout_is_retried(self):
        self.server.script(Reply(200, delay=2.0))
        message = self.enqueue()
        with trap_jobs():
            self.assertEqual(message._job_send(), "failed")
        self.assertIn("timeout", message.last_error)
        self.assertFalse(message.response_status)
        self.assertEqual(message._job_send(), "sent")
        self.assertEqual(len(self.server.requests), 2)

    def test_400_is_dead_with_response(self):
        self.server.script(Reply(400, {"errors": {"sku": ["unknown sku"]}}))
        message = self.enqueue()
        with trap_jobs() as trap:
            self.assertEqual(message._job_send(), "dead")
            trap.assert_jobs_count(0)
        self.assertEqual(message.state, "dead")
        self.assertEqual(message.response_status, 400)
        self.assertIn("unknown sku", message.response_body)
        self.assertIn("400", message.last_error)
        self.assertEqual(message.attempt_ids.response_status, 400)

    # -- circuit breaker -------------------------------------------------------------
    def _open_circuit(self):
        self.server.script(*[Reply(503, {"error": "down"}) for _ in range(3)])
        with trap_jobs():
            for _ in range(3):
                self.assertEqual(self.enqueue()._job_send(), "failed")
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.circuit_state, "open")
        self.assertEqual(self.backend.circuit_failure_count, 3)

    def test_circuit_opens_waits_probes_and_closes(self):
        self._open_circuit()
        message = self.enqueue()
        with trap_jobs() as trap:
            self.assertEqual(message._job_send(), "waiting")
            [job] = trap.enqueued_jobs
        self.assertEqual(len(self.server.requests), 3, "no call while open")
        self.assertEqual(message.state, "pending")
        self.assertEqual(message.attempt_count, 0, "waiting spends no attempt")
        self.assertFalse(message.attempt_ids)
        self.assertIn("circuit open", message.last_error)
        self.assertGreater(job.eta, fields.Datetime.now())
        time.sleep(2.1)
        # the cool-down is over: this call is the half-open probe; meanwhile
        # another worker is held back
        with self.backend._flow_store() as store:
            probe = store.admit(self.backend.id, 0, 1, 10, 30)
        self.assertTrue(probe.probe)
        with self.backend._flow_store() as store:
            other = store.admit(self.backend.id, 0, 1, 10, 30)
        self.assertFalse(other.allowed)
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.circuit_state, "half_open")
        self.assertEqual(message._job_send(), "waiting", "the probe is someone else's")
        # that probe died: once its time is out the message probes itself
        with self.registry.cursor() as cr:
            cr.execute(
                "UPDATE integration_backend_flow SET probe_started = probe_started - 60 "
                "WHERE backend_id = %s",
                (self.backend.id,),
            )
        self.assertEqual(message._job_send(), "sent")
        self.assertEqual(message.attempt_count, 1)
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.circuit_state, "closed")
        self.assertEqual(self.backend.circuit_failure_count, 0)

    def test_failed_probe_reopens(self):
        self._open_circuit()
        time.sleep(2.1)
        self.server.script(Reply(500))
        message = self.enqueue()
        with trap_jobs():
            self.assertEqual(message._job_send(), "failed")
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.circuit_state, "open")
        self.assertEqual(len(self.server.requests), 4)

    def test_manual_reset(self):
        self._open_circuit()
        self.backend.action_reset_circuit()
        self.assertEqual(self.backend.circuit_state, "closed")
        self.assertEqual(self.backend.circuit_failure_count, 0)
        self.assertEqual(self.enqueue()._job_send(), "sent")

    # -- coalescing and ordering -----------------------------------------------------
    def test_coalescing_last_value_wins(self):
        """A waiting message takes each newer value of its key in place: one row,
        one job, one call with the last value."""
        with trap_jobs() as trap:
            messages = self.env["integration.outbox.message"]
            for qty in range(100):
                messages |= self.enqueue({"sku": "A", "qty": qty}, coalesce_key="sku:A")
            self.assertEqual(len(messages), 1)
            self.assertEqual(messages.payload, {"sku": "A", "qty": 99})
            self.assertEqual(len(trap.enqueued_jobs), 1)
            trap.perform_enqueued_jobs()
        self.assertEqual(
            [r.json for r in self.server.requests], [{"sku": "A", "qty": 99}]
        )
        self.assertEqual(messages.state, "sent")

    def test_update_in_place_is_one_update(self):
        first = self.enqueue({"sku": "A", "qty": 1}, coalesce_key="sku:A")
        [job] = self.env["queue.job"].search(
            [("identity_key", "=", first._job_identity())]
        )
        self.env.flush_all()
        with recorded_statements() as statements:
            second = self.enqueue({"sku": "A", "qty": 2}, coalesce_key="sku:A")
            self.env.flush_all()
        self.assertEqual(second, first)
        self.assertEqual(first.payload, {"sku": "A", "qty": 2})
        self.assertFalse(statements_like(statements, "INSERT"), statements)
        self.assertFalse(statements_like(statements, "UPDATE queue_job"), statements)
        self.assertEqual(
            len(statements_like(statements, 'UPDATE "integration_outbox_message"')),
            1,
            statements,
        )
        self.assertEqual(
            self.env["queue.job"].search(
                [("identity_key", "=", first._job_identity())]
            ),
            job,
            "the message keeps its one job",
        )
        self.assertEqual(job.state, "pending")

    def test_superseded_jobs_cancelled_in_one_statement(self):
        messages = self.env["integration.outbox.message"]
        for index in range(5):
            messages |= self.enqueue({"n": index})
        jobs = self.env["queue.job"].search(
            [("identity_key", "in", [m._job_identity() for m in messages])]
        )
        self.assertEqual(len(jobs), 5)
        self.env.flush_all()
        with recorded_statements() as statements:
            messages._cancel_pending_jobs()
        on_jobs = [s for s in statements if "queue_job" in s]
        self.assertEqual(len(on_jobs), 1, statements)
        self.assertEqual(statements_like(on_jobs, "UPDATE queue_job"), on_jobs)
        self.assertEqual(set(jobs.mapped("state")), {"cancelled"})
        self.assertTrue(all(jobs.mapped("date_cancelled")))

    def test_attempted_message_is_superseded_not_updated(self):
        """A message whose key may have reached the provider (a failed attempt)
        keeps its payload: the newer value is a new message superseding it."""
        self.server.script(Reply(502))
        with trap_jobs():
            old = self.enqueue({"sku": "A", "qty": 1}, coalesce_key="sku:A")
            self.assertEqual(old._job_send(), "failed")
            new = self.enqueue({"sku": "A", "qty": 2}, coalesce_key="sku:A")
        self.assertNotEqual(new, old)
        self.assertEqual(old.payload, {"sku": "A", "qty": 1})
        self.assertEqual((old.state, old.superseded_by_id), ("superseded", new))
        self.assertEqual(new.state, "pending")

    def test_replayed_old_value_never_overwrites_a_newer_one(self):
        """A dead message retried after a newer one of its coalesce key went out
        is superseded, not sent: the provider keeps the latest value."""
        self.server.script(Reply(400, {"errors": "locked"}))
        with trap_jobs() as trap:
            old = self.enqueue({"sku": "A", "qty": 1}, coalesce_key="sku:A")
            self.assertEqual(old._job_send(), "dead")
            new = self.enqueue({"sku": "A", "qty": 2}, coalesce_key="sku:A")
            self.assertEqual(new._job_send(), "sent")
            old.action_retry_now()
            trap.perform_enqueued_jobs()
        self.assertEqual(old.state, "superseded")
        self.assertEqual(old.superseded_by_id, new)
        self.assertEqual([r.json["qty"] for r in self.server.requests], [1, 2])

    def test_same_request_again_in_a_transaction_keeps_its_message(self):
        with trap_jobs() as trap:
            first = self.enqueue({"sku": "A", "qty": 1}, coalesce_key="sku:A")
            with recorded_statements() as statements:
                again = self.enqueue({"sku": "A", "qty": 1}, coalesce_key="sku:A")
            # one SELECT that it still waits: no lock, no update, no new job
            self.assertEqual(len(statements), 1, statements)
            self.assertEqual(again, first)
            changed = self.enqueue({"sku": "A", "qty": 2}, coalesce_key="sku:A")
            self.assertEqual(changed, first)
            trap.assert_jobs_count(1, only=first._job_send)
            trap.perform_enqueued_jobs()
            self.assertEqual(first.state, "sent")
            # sent since: the same request is a new message
            after_send = self.enqueue({"sku": "A", "qty": 2}, coalesce_key="sku:A")
        self.assertNotEqual(after_send, first)
        self.assertEqual([r.json["qty"] for r in self.server.requests], [2])

    def test_same_request_after_a_savepoint_rollback_is_enqueued(self):
        with trap_jobs():
            with contextlib.suppress(ZeroDivisionError), self.env.cr.savepoint():
                rolled_back = self.enqueue({"qty": 1}, coalesce_key="sku:B")
                rolled_back_id = rolled_back.id
                raise ZeroDivisionError
            kept = self.enqueue({"qty": 1}, coalesce_key="sku:B")
        self.assertNotEqual(kept.id, rolled_back_id)
        self.assertTrue(kept.exists())
        self.assertEqual(kept.state, "pending")

    def test_coalesce_hook_can_merge(self):
        def merge(model, older_pending, payload):
            merged = {}
            for message in older_pending.sorted("id"):
                merged.update(message.payload)
            return merged | payload

        model_class = type(self.env["integration.outbox.message"])
        self.patch(model_class, "_coalesce_payload", merge)
        self.server.script(Reply(502))
        with trap_jobs() as trap:
            failed = self.enqueue({"title": "T"}, coalesce_key="product:1")
            self.assertEqual(failed._job_send(), "failed")
            # superseding the failed message, then taking a value in place
            self.enqueue({"price": 3}, coalesce_key="product:1")
            self.enqueue({"stock": 4}, coalesce_key="product:1")
            trap.perform_enqueued_jobs()
        self.assertEqual(
            self.server.requests[-1].json, {"title": "T", "price": 3, "stock": 4}
        )

    def test_sequence_key_keeps_order(self):
        self.server.script(Reply(502))
        with trap_jobs():
            first = self.enqueue({"step": 1}, sequence_key="order:9")
            second = self.enqueue({"step": 2}, sequence_key="order:9")
            self.assertEqual(first._job_send(), "failed")
            self.assertEqual(second._job_send(), "waiting")
            self.assertEqual(second.attempt_count, 0)
            self.assertEqual(len(self.server.requests), 1)
            self.assertEqual(first._job_send(), "sent")
            self.assertEqual(second._job_send(), "sent")
        self.assertEqual([r.json["step"] for r in self.server.requests], [1, 1, 2])

    def test_handle_response_failure_is_not_resent(self):
        def broken(backend, message, response):
            raise ValueError("no id in response")

        self.patch(type(self.backend), "_outbox_handle_response", broken)
        message = self.enqueue()
        with trap_jobs():
            self.assertEqual(message._job_send(), "dead")
        self.assertEqual(message.response_status, 200)
        self.assertIn("no id in response", message.last_error)


@tagged("post_install", "-at_install")
class TestOutboundTransactions(OutboundMixin, TransactionCase):
    """Committed data through separate cursors; cleaned up afterwards."""

    def setUp(self):
        super().setUp()
        self.server = self.start_server(default=Reply(200, {"ok": True}))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            self.backend_id = (
                env["integration.backend"]
                .create({"name": "Outbound committed", "api_base_url": self.server.url})
                .id
            )
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        # queue_job's runner may be running a committed job of ours: retry
        for attempt in range(10):
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    messages = env["integration.outbox.message"].search(
                        [("backend_id", "=", self.backend_id)]
                    )
                    identities = [m._job_identity() for m in messages]
                    env["queue.job"].search(
                        [("identity_key", "in", identities)]
                    ).unlink()
                    env["integration.backend"].browse(self.backend_id).unlink()
                    FlowStore(cr).forget([self.backend_id])
                return
            except psycopg2.OperationalError:
                if attempt == 9:
                    raise
                time.sleep(0.5)

    def test_rollback_sends_nothing(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["integration.backend"].browse(self.backend_id)
            rolled_back = backend._outbox_enqueue("inventory/set", {"qty": 1})
            identities = [rolled_back._job_identity()]
            cr.rollback()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["integration.backend"].browse(self.backend_id)
            committed = backend._outbox_enqueue("inventory/set", {"qty": 2})
            identities.append(committed._job_identity())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            jobs = env["queue.job"].search([("identity_key", "in", identities)])
            self.assertEqual(jobs.mapped("identity_key"), identities[1:])
            self.assertFalse(
                env["integration.outbox.message"].search([("id", "=", rolled_back.id)])
            )
        # run what queue_job's runner finds (it may also be running in this
        # process and get there first: the message is then locked or already sent)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["integration.outbox.message"].browse(committed.id)._job_send()
        deadline = time.monotonic() + 10
        while not self.server.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        self.assertEqual([r.json for r in self.server.requests], [{"qty": 2}])

    def test_rate_limit_holds_across_two_workers(self):
        rate, count = 5, 20
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["integration.backend"].browse(self.backend_id)
            backend.write({"rate_limit_per_second": rate, "rate_limit_burst": 1})
            # created without a job: the two threads below are the workers
            ids = (
                env["integration.outbox.message"]
                .create(
                    [
                        {
                            "backend_id": self.backend_id,
                            "topic": "inventory/set",
                            "payload": {"n": n},
                            "idempotency_key": f"rate-{n}",
                        }
                        for n in range(count)
                    ]
                )
                .ids
            )
        errors, outcomes = [], []

        def worker(message_ids):
            try:
                for message_id in message_ids:
                    with self.registry.cursor() as cr:
                        env = api.Environment(cr, SUPERUSER_ID, {})
                        message = env["integration.outbox.message"].browse(message_id)
                        outcomes.append(message._job_send())
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        start = time.monotonic()
        threads = [
            threading.Thread(target=worker, args=(ids[0::2],)),
            threading.Thread(target=worker, args=(ids[1::2],)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        elapsed = time.monotonic() - start
        self.assertFalse(errors)
        self.assertEqual(outcomes, ["sent"] * count)
        self.assertEqual(len(self.server.requests), count)
        self.assertLessEqual(max(self.server.per_second().values()), rate)
        self.assertGreaterEqual(elapsed, (count - 1) / rate * 0.95)
