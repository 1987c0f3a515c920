from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from . import shopify_simulator as sim
from .common import ACCESS_TOKEN, ShopifyCase


@tagged("post_install", "-at_install")
class TestReconcile(ShopifyCase):
    def setUp(self):
        super().setUp()
        self.shop = sim.ShopifySimulator(access_token=ACCESS_TOKEN, page_size=3).start()
        self.addCleanup(self.shop.stop)
        self.backend.api_base_url = self.shop.base_url

    def test_reconciliation_heals_missed_create(self):
        received = [sim.order_payload([("SKU-A", 1, "10")]) for _i in range(4)]
        missed = sim.order_payload([("SKU-B", 2, "7.50")], name="#MISSED")
        for payload in received:
            self.shop.add_order(payload)
            self.deliver("orders/create", payload)
        self.shop.add_order(missed)
        # an order changed in Shopify whose orders/updated never came
        changed = sim.bump(received[0], seconds=5)
        changed["line_items"][0]["quantity"] = 3
        sim.retotal(changed)
        self.shop.add_order(changed)

        items = self.backend._reconcile(
            fields.Datetime.now() - timedelta(hours=1), None
        )
        self.assertEqual(
            sorted((i["status"], i["external_ref"]) for i in items),
            sorted(
                [("missing", str(missed["id"])), ("mismatched", str(changed["id"]))]
            ),
        )
        pages = [r for r in self.shop.requests if r["path"].endswith("orders.json")]
        self.assertEqual(len(pages), 2, "5 orders in pages of 3")
        self.assertEqual(pages[0]["query"]["status"], "any")
        self.assertIn("updated_at_min", pages[0]["query"])
        self.assertIn("page_info", pages[1]["query"])

        self.backend.reconcile_checkpoint = fields.Datetime.now() - timedelta(hours=1)
        run = self.backend._reconcile_from_checkpoint(
            date_to=fields.Datetime.now() + timedelta(minutes=1)
        )
        self.assertEqual(run.state, "done", run.error)
        messages = run.line_ids.inbox_message_id
        self.assertEqual(len(messages), 2)
        missed_message = messages.filtered(
            lambda m: m.external_ref == str(missed["id"])
        )
        self.assertEqual(missed_message.topic, "orders/create")
        self.assertEqual(
            missed_message.idempotency_key,
            f"order:{missed['id']}:{missed['updated_at']}",
        )
        for message in messages:
            message._job_process()
            self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(self.order_of(missed).client_order_ref, "#MISSED")
        self.assertGreater(self.backend.reconcile_checkpoint, fields.Datetime.now())
        # nothing left to heal; a second pull of the same window is harmless
        self.assertEqual(
            self.backend._reconcile(fields.Datetime.now() - timedelta(hours=1), None),
            [],
        )

    def test_hourly_pull_is_a_core_scheduled_reconciliation(self):
        self.assertTrue(self.backend.reconcile_enabled)
        self.assertTrue(self.backend.reconcile_from_checkpoint)
        self.assertTrue(self.backend.reconcile_auto_heal)
        self.assertEqual(self.backend.reconcile_interval_hours, 1)
        cron = self.backend.reconcile_cron_id
        self.assertTrue(cron.active)
        missed = sim.order_payload([("SKU-B", 1, "7.50")], name="#CRON")
        self.shop.add_order(missed)
        self.backend.reconcile_checkpoint = fields.Datetime.now() - timedelta(hours=1)
        self.backend._cron_reconcile()
        run = self.backend.reconciliation_run_ids[:1]
        self.assertEqual(
            (run.state, run.missing_count, run.healed_count), ("done", 1, 1)
        )
        run.line_ids.inbox_message_id._job_process()
        self.assertEqual(self.order_of(missed).client_order_ref, "#CRON")
