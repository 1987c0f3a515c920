"""External subscribers: a generic backend receives the events it chose at its
URL, through the outbox, signed as Standard Webhooks, once each, in order per
object."""

import base64
import hashlib
import hmac
import json

from odoo.tests import TransactionCase, tagged

from .common import LocalServerMixin, make_backend, new_whsec, process


def verify(secret, headers, body):
    """The receiver's own check of a Standard Webhooks signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return any(
        hmac.compare_digest(expected, part.split(",", 1)[1].encode())
        for part in headers["webhook-signature"].split()
    )


@tagged("post_install", "-at_install")
class TestEventWebhooks(LocalServerMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.secret = new_whsec()
        self.receiver = make_backend(
            self.env,
            name="Data warehouse",
            webhook_secret=self.secret,
            api_base_url=f"{self.server.url}/hooks/odoo",
            event_topics="order.\npayment.received",
        )
        self.records = [
            self.env["res.partner"].create({"name": name}) for name in ("A", "B")
        ]

    def publish(self, topic, record):
        return self.env["integration.event"]._publish(
            topic, {"model": record._name, "id": record.id}, record
        )

    def deliveries_to_receiver(self, events):
        return events.delivery_ids.filtered(lambda d: d.backend_id == self.receiver)

    def send_all(self):
        messages = self.env["integration.outbox.message"].search(
            [("backend_id", "=", self.receiver.id), ("state", "=", "pending")],
            order="id",
        )
        return [process(message) for message in messages]

    def test_chosen_events_signed_once_in_order_per_object(self):
        first, second = self.records
        events = (
            self.publish("order.imported", first)
            | self.publish("order.imported", second)
            | self.publish("order.updated", first)
            | self.publish("picking.done", first)
            | self.publish("payment.received", second)
        )
        deliveries = self.deliveries_to_receiver(events)
        self.assertEqual(len(deliveries), 4, "picking.done was not chosen")
        self.assertEqual({process(d) for d in deliveries}, {"done"})
        self.assertEqual(set(self.send_all()), {"sent"})
        received = self.server.requests
        self.assertEqual(len(received), 4)
        for request in received:
            headers = {name.lower(): value for name, value in request.headers.items()}
            self.assertEqual(request.path, "/hooks/odoo")
            self.assertTrue(verify(self.secret, headers, request.body))
        self.assertEqual(
            sorted(r.headers["webhook-id"] for r in received),
            sorted(deliveries.mapped("idempotency_key")),
        )
        per_object = [
            (json.loads(r.body)["data"]["id"], json.loads(r.body)["type"])
            for r in received
        ]
        self.assertEqual(
            [topic for record_id, topic in per_object if record_id == first.id],
            ["order.imported", "order.updated"],
        )
        # replayed, the event is not sent twice
        deliveries[0].action_replay()
        process(deliveries[0])
        self.assertEqual(self.send_all(), [])
        self.assertEqual(len(self.server.requests), 4)

    def test_a_backend_choosing_nothing_gets_no_delivery(self):
        self.receiver.event_topics = False
        event = self.publish("order.imported", self.records[0])
        self.assertFalse(self.deliveries_to_receiver(event))

    def test_pings_are_answered_in_odoo_never_sent(self):
        self.receiver.event_topics = "*\nintegration.ping"
        event = self.publish("integration.ping", self.records[0])
        delivery = self.deliveries_to_receiver(event)
        self.assertEqual(delivery.subscriber, "integration.ping")
        self.assertEqual(process(delivery), "done")
        self.assertEqual(self.send_all(), [])
