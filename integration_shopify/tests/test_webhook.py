from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from . import shopify_simulator as sim
from .common import WEBHOOK_SECRET


@tagged("post_install", "-at_install")
class TestWebhook(HttpCase):
    """Signed deliveries through the real route, as Shopify sends them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls.env["integration.backend"].create(
            {
                "name": "Webhook Shopify",
                "backend_type": "shopify",
                "webhook_secret": WEBHOOK_SECRET,
            }
        )

    def sender(self, secret=WEBHOOK_SECRET):
        # the route reads the database, not this test's unflushed cache
        self.env.flush_all()
        url = f"{self.base_url()}/integration/webhook/{self.backend.webhook_token}"
        return sim.WebhookSender(url, secret)

    def message(self, response):
        self.assertEqual(response.status_code, 200, response.text)
        return self.env["integration.inbox.message"].browse(response.json()["id"])

    def test_signed_delivery_is_stored(self):
        order = sim.order_payload([("SKU-A", 1, "10")])
        response = self.sender().send("orders/create", order, event_id="evt-100")
        message = self.message(response)
        self.assertEqual(response.json()["status"], "accepted")
        self.assertEqual(message.topic, "orders/create")
        self.assertEqual(message.idempotency_key, "evt-100")
        self.assertEqual(message.external_ref, str(order["id"]))
        self.assertEqual(message.sequence_key, f"order:{order['id']}")
        self.assertEqual(message.event_at, sim_datetime(order["updated_at"]))
        self.assertEqual(message.payload["id"], order["id"])
        duplicate = self.sender().send("orders/create", order, event_id="evt-100")
        self.assertEqual(duplicate.json()["status"], "duplicate")

    def test_bad_signature_refused(self):
        order = sim.order_payload([("SKU-A", 1, "10")])
        self.assertEqual(
            self.sender("wrong").send("orders/create", order).status_code, 401
        )
        body, headers = self.sender().build("orders/create", order)
        tampered = body.replace(b'"quantity": 1', b'"quantity": 9')
        self.assertEqual(self.sender().post(tampered, headers).status_code, 401)
        del headers["X-Shopify-Hmac-Sha256"]
        self.assertEqual(self.sender().post(body, headers).status_code, 401)

    def test_previous_secret_during_rotation(self):
        self.backend.action_rotate_webhook_secret()
        self.backend.write(
            {
                "webhook_secret": "new-secret",
                "webhook_secret_previous_until": fields.Datetime.now()
                + timedelta(hours=1),
            }
        )
        order = sim.order_payload([("SKU-A", 1, "10")])
        self.assertEqual(
            self.sender(WEBHOOK_SECRET).send("orders/create", order).status_code, 200
        )
        self.assertEqual(
            self.sender("new-secret").send("orders/updated", order).status_code, 200
        )
        self.backend.webhook_secret_previous_until = fields.Datetime.now() - timedelta(
            seconds=1
        )
        self.env.invalidate_all()
        self.assertEqual(
            self.sender(WEBHOOK_SECRET).send("orders/paid", order).status_code, 401
        )

    def test_idempotency_key_fallbacks(self):
        order = sim.order_payload([("SKU-A", 1, "10")])
        sender = self.sender()
        by_webhook = self.message(
            sender.send("orders/create", order, webhook_id="wh-1", with_event_id=False)
        )
        self.assertEqual(by_webhook.idempotency_key, "wh-1")
        neither = self.message(
            sender.send(
                "orders/updated", order, with_event_id=False, with_webhook_id=False
            )
        )
        self.assertEqual(
            len(neither.idempotency_key), 64
        )  # digest of topic and payload
        again = sender.send(
            "orders/updated", order, with_event_id=False, with_webhook_id=False
        )
        self.assertEqual(again.json()["status"], "duplicate")

    def test_sender_knobs(self):
        """Duplicates and reordering from the sender never create two messages."""
        orders = [sim.order_payload([("SKU-A", 1, "10")]) for _i in range(6)]
        sender = self.sender()
        sender.duplicates, sender.reorder, sender.bad_signature = 0.5, 3, 0.2
        statuses = sender.send_many([("orders/create", order) for order in orders])
        self.assertIn(401, statuses)
        self.assertGreater(len(statuses), len(orders))
        stored = self.env["integration.inbox.message"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(len(stored), len(set(stored.mapped("external_ref"))))
        accepted = {
            h["X-Shopify-Event-Id"] for h, status in sender.sent if status == 200
        }
        self.assertEqual(len(stored), len(accepted))

    def test_times_out_of_range_stored_then_dead_with_the_reason(self):
        for moment in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
            order = sim.order_payload([("SKU-A", 1, "10")], updated_at=moment)
            message = self.message(
                self.sender().send("orders/create", order, triggered_at=moment)
            )
            self.assertFalse(message.event_at)
            self.assertEqual(message.payload["updated_at"], moment)
            self.assertEqual(message._job_process(), "dead")
            self.assertIn("payload cannot be mapped", message.last_error)
            self.assertIn("out of range", message.last_error)

    def test_numbers_beyond_float_range_refused(self):
        order = sim.order_payload([("SKU-A", 1, "10")])
        body, headers = self.sender().build("orders/create", order)
        body = body.replace(b'"quantity": 1', b'"quantity": 1e400')
        headers["X-Shopify-Hmac-Sha256"] = sim.sign(WEBHOOK_SECRET, body)
        response = self.sender().post(body, headers)
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn("number out of range", response.json()["reason"])

    def test_long_event_id_and_order_id_refused(self):
        long_id = "9" * 3000
        sender = self.sender()
        order = sim.order_payload([("SKU-A", 1, "10")])
        refused = sender.send("orders/create", order, event_id=long_id)
        self.assertEqual(refused.status_code, 400, refused.text)
        self.assertIn("idempotency_key is longer", refused.json()["reason"])
        refused = sender.send("orders/create", dict(order, id=long_id))
        self.assertEqual(refused.status_code, 400, refused.text)
        self.assertIn("external_ref is longer", refused.json()["reason"])
        self.assertFalse(
            self.env["integration.inbox.message"].search(
                [("backend_id", "=", self.backend.id)]
            )
        )


def sim_datetime(value):
    from .. import mapping

    return mapping.parse_datetime(value)
