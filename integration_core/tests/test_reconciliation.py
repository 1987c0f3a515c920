from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import IntegrationCase


@tagged("post_install", "-at_install")
class TestReconciliation(IntegrationCase):
    """A test connector: the provider holds orders 1, 2 and 3; Odoo only got 1."""

    def setUp(self):
        super().setUp()
        self.handlers["orders/create"] = self.partner_handler
        self.provider = [
            {"id": "1", "name": "One"},
            {"id": "2", "name": "Two"},
            {"id": "3", "name": "Three"},
        ]
        test = self

        def _reconcile(backend, date_from, date_to):
            test.reconcile_calls.append((date_from, date_to))
            items = []
            for order in test.provider:
                partner = backend.env["res.partner"].search([("ref", "=", order["id"])])
                status = "ok" if partner else "missing"
                if partner and partner.name != order["name"]:
                    status = "mismatched"
                items.append(
                    {
                        "status": status,
                        "topic": "orders/create",
                        "payload": order,
                        "idempotency_key": f"reconcile:{order['id']}:{order['name']}",
                        "external_ref": order["id"],
                        "sequence_key": f"order:{order['id']}",
                    }
                )
            return items

        self.reconcile_calls = []
        self.patch(type(self.env["integration.backend"]), "_reconcile", _reconcile)
        first = self.receive(
            "orders/create", {"id": "1", "name": "One"}, external_ref="1"
        )
        first._job_process()

    def test_run_records_missing_and_heal_enqueues_them(self):
        run = self.env["integration.reconciliation.run"]._run_for(self.backend)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.checked_count, 3)
        self.assertEqual(run.missing_count, 2)
        self.assertEqual(run.mismatched_count, 0)
        self.assertEqual(sorted(run.line_ids.mapped("external_ref")), ["2", "3"])
        with trap_jobs() as trap:
            run.action_heal()
            trap.assert_jobs_count(2)
        self.assertEqual(run.healed_count, 2)
        messages = run.line_ids.inbox_message_id
        self.assertEqual(set(messages.mapped("state")), {"queued"})
        for message in messages:
            message._job_process()
        self.assertEqual(
            sorted(
                self.env["res.partner"]
                .search([("ref", "in", ["1", "2", "3"])])
                .mapped("ref")
            ),
            ["1", "2", "3"],
        )
        # healing twice enqueues nothing more
        with trap_jobs() as trap:
            run.action_heal()
            trap.assert_jobs_count(0)
        # a new run finds nothing missing
        again = self.env["integration.reconciliation.run"]._run_for(self.backend)
        self.assertEqual((again.missing_count, again.mismatched_count), (0, 0))

    def test_mismatch_and_window(self):
        self.provider[0]["name"] = "One (renamed)"
        run = self.env["integration.reconciliation.run"]._run_for(self.backend)
        self.assertEqual(run.mismatched_count, 1)
        date_from, date_to = self.reconcile_calls[-1]
        self.assertEqual(int((date_to - date_from).total_seconds()), 48 * 3600)

    def test_connector_failure_gives_failed_run(self):
        def broken(backend, date_from, date_to):
            raise ConnectionError("provider down")

        self.patch(type(self.env["integration.backend"]), "_reconcile", broken)
        run = self.env["integration.reconciliation.run"]._run_for(self.backend)
        self.assertEqual(run.state, "failed")
        self.assertIn("provider down", run.error)

    def test_one_cron_per_backend(self):
        self.backend.write({"reconcile_enabled": True, "reconcile_interval_hours": 6})
        cron = self.backend.reconcile_cron_id
        self.assertTrue(cron.active)
        self.assertEqual(cron.interval_number, 6)
        other = self.env["integration.backend"].create(
            {
                "name": "Other",
                "retry_policy_id": self.policy.id,
                "reconcile_enabled": True,
            }
        )
        self.assertNotEqual(other.reconcile_cron_id, cron)
        cron.method_direct_trigger()
        self.assertEqual(
            self.env["integration.reconciliation.run"].search_count(
                [("backend_id", "=", self.backend.id)]
            ),
            1,
        )
        self.backend.reconcile_enabled = False
        self.assertFalse(cron.active)
