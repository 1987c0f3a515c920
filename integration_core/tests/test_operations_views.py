from odoo.tests import Form, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import IntegrationCase

VIEW_TYPES = {
    "integration.backend": ("list", "form", "kanban", "search"),
    "integration.inbox.message": ("list", "form", "graph", "pivot", "search"),
    "integration.outbox.message": ("list", "form", "graph", "pivot", "search"),
    "integration.message.trace": ("list", "graph", "pivot", "search"),
    "integration.reconciliation.run": ("list", "form", "search"),
    "integration.retry.policy": ("list", "form"),
}


@tagged("post_install", "-at_install")
class TestOperationsViews(IntegrationCase):
    def test_every_view_loads(self):
        for model, view_types in VIEW_TYPES.items():
            for view_type in view_types:
                with self.subTest(model=model, view_type=view_type):
                    views = self.env[model].get_views([(False, view_type)])
                    self.assertIn(view_type, views["views"])
        dashboard = self.env.ref(
            "integration_core.integration_backend_view_kanban_dashboard"
        )
        arch = self.env["integration.backend"].get_views([(dashboard.id, "kanban")])
        self.assertIn("stat_queue_depth", arch["views"]["kanban"]["arch"])

    def test_forms_open(self):
        self.handlers["test/create"] = self.partner_handler
        inbox = self.receive(payload={"id": 1, "name": "A"}, external_ref="1")
        inbox._job_process()
        with trap_jobs():
            outbox = self.backend._outbox_enqueue("test/out", {"id": 1})
        for record in (inbox, outbox, self.backend, self.policy):
            with self.subTest(model=record._name):
                form = Form(record)
                self.assertTrue(form.id)
        with Form(self.env["integration.backend"]) as form:
            form.name = "Form backend"
            form.alert_dead_threshold = 3
        with Form(self.env["integration.reconciliation.run"]) as form:
            form.backend_id = self.backend
            form.date_from = self.ago(days=1)
        Form(self.env["res.config.settings"])
        self.assertEqual(inbox.headers_pretty, False)

    def test_dashboard_figures_and_click_through(self):
        self.handlers["test/create"] = self.partner_handler
        done = self.receive(payload={"id": 1, "name": "A"}, external_ref="1", key="d")
        done._job_process()
        dead = self.receive(key="dead")
        dead.write({"state": "dead"})
        waiting = self.receive(key="waiting")
        waiting.write({"received_at": self.ago(hours=2)})
        backend = self.backend
        backend.invalidate_recordset()
        self.assertEqual(backend.stat_received_24h, 3)
        self.assertEqual(backend.stat_done_24h, 1)
        self.assertEqual(backend.stat_dead_24h, 1)
        self.assertEqual(backend.stat_queue_depth, 1)
        self.assertGreaterEqual(backend.stat_lag_seconds, 7200)
        self.assertEqual(backend.stat_lag_display, "2h 0m")
        self.assertTrue(backend.stat_last_success)
        self.assertEqual(backend.stat_circuit_state, "closed")
        self.assertEqual(backend.stat_health, "alert")
        action = backend.action_open_inbox_dead()
        found = self.env[action["res_model"]].search(
            action["domain"] + [("state", "=", "dead")]
        )
        self.assertEqual(found, dead)
        self.assertEqual(action["context"]["search_default_dead"], 1)
        action = backend.action_open_inbox_waiting()
        self.assertEqual(
            self.env[action["res_model"]].search(action["domain"]), waiting
        )


@tagged("post_install", "-at_install")
class TestMassActions(IntegrationCase):
    def _messages(self, states):
        messages = self.env["integration.inbox.message"]
        for index, state in enumerate(states):
            message = self.receive(key=f"mass-{index}")
            message.write({"state": state, "attempt_count": 3})
            messages |= message
        return messages

    def test_inbox_retry_replay_ignore_on_selection(self):
        messages = self._messages(["failed", "dead", "done", "ignored"])
        failed, dead, done, ignored = messages
        with trap_jobs() as trap:
            messages.action_retry_now()
            trap.assert_jobs_count(2)
        self.assertEqual((failed | dead).mapped("state"), ["queued", "queued"])
        self.assertEqual((failed | dead).mapped("attempt_count"), [3, 3])
        self.assertEqual(
            [message._attempts_in_budget() for message in failed | dead],
            [0, 0],
            "a fresh budget",
        )
        self.assertEqual(done.state, "done")
        with trap_jobs() as trap:
            (done | ignored).action_replay()
            trap.assert_jobs_count(2)
        self.assertEqual((done | ignored).mapped("state"), ["queued", "queued"])
        self.ignore_with_wizard(messages, "test data")
        self.assertEqual(set(messages.mapped("state")), {"ignored"})
        self.assertEqual(set(messages.mapped("ignore_reason")), {"test data"})

    def test_outbox_retry_replay_cancel_on_selection(self):
        outbox = self.env["integration.outbox.message"]
        with trap_jobs():
            messages = outbox.browse(
                [
                    self.backend._outbox_enqueue("test/out", {"n": n}).id
                    for n in range(4)
                ]
            )
        failed, dead, sent, pending = messages
        failed.write({"state": "failed", "attempt_count": 2})
        dead.write({"state": "dead", "attempt_count": 5})
        sent.write({"state": "sent"})
        with trap_jobs() as trap:
            messages.action_retry_now()
            trap.assert_jobs_count(2)
        self.assertEqual((failed | dead).mapped("state"), ["pending", "pending"])
        with trap_jobs() as trap:
            messages.action_replay()
            trap.assert_jobs_count(1)
        self.assertEqual(sent.state, "pending")
        self.ignore_with_wizard(messages, "not needed")
        self.assertEqual(set(messages.mapped("state")), {"cancelled"})
