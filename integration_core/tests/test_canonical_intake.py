"""Canonical documents through a generic backend: refused at intake with the
failing JSON path when they break their schema, imported by the core
importers when they follow it (CANONICAL.md's own request included)."""

import copy
import json
import os
import re

from hypothesis import given
from hypothesis import strategies as st

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_webhook import WebhookCase
from .test_webhook_fuzz import FUZZ_SETTINGS, JSON_VALUES

CANONICAL_MD = os.path.join(os.path.dirname(__file__), "..", "readme", "CANONICAL.md")
WEBHOOK_LOGGER = "odoo.addons.integration_core.controllers.webhook"


def documented_request():
    """The body of CANONICAL.md's complete ``order.created`` request."""
    with open(CANONICAL_MD, encoding="utf-8") as file:
        text = file.read()
    block = re.search(r"```json canonical:envelope\n(.*?)```", text, re.S)
    return json.loads(block.group(1))


@tagged("post_install", "-at_install")
class TestCanonicalIntake(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vat = cls.env["account.tax"].create(
            {
                "name": "Canonical VAT 20% included",
                "amount": 20.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "price_include_override": "tax_included",
            }
        )
        cls.journal = cls.env["account.journal"].create(
            {"name": "Canonical gateway", "code": "CANGW", "type": "bank"}
        )
        cls.backend.write(
            {
                "missing_sku_policy": "create",
                "tax_fallback": "fail",
                "tax_map_ids": [
                    Command.create({"title": "VAT", "rate": 20.0, "tax_id": cls.vat.id})
                ],
                "payment_map_ids": [
                    Command.create({"gateway": "stripe", "journal_id": cls.journal.id})
                ],
            }
        )

    def deliver(self, topic, document, **headers):
        response = self.post_signed({"type": topic, "data": document}, **headers)
        self.assertEqual(response.status_code, 200, response.text)
        message = self.env["integration.inbox.message"].browse(response.json()["id"])
        message._job_process()
        return message

    def order(self):
        return copy.deepcopy(documented_request()["data"])

    def test_documented_request_works_as_written(self):
        response = self.post_signed(documented_request())
        self.assertEqual(response.status_code, 200, response.text)
        message = self.messages()
        self.assertEqual(message._job_process(), "done", message.last_error)
        order = message._get_record()
        self.assertEqual(order.client_order_ref, "#1001")
        self.assertEqual(order.amount_total, 58.0)
        self.assertEqual(order.state, "sale")
        self.assertEqual(
            self.env["integration.binding"]._find_record(
                self.backend, "sale.order", "5551234567890"
            ),
            order,
        )
        payment = self.env["integration.binding"]._find_record(
            self.backend, "account.payment", "order:5551234567890"
        )
        self.assertEqual(payment.amount, 58.0, "paid: one payment, once")
        self.assertEqual(payment.journal_id, self.journal)

    def test_schema_failure_refused_with_its_path(self):
        cases = [
            ("lines", 0, "unit_price", 19.99, "$.data.lines[0].unit_price"),
            (None, None, "currency", "eur", "$.data.currency"),
            (None, None, "created_at", "2026-03-14 09:26", "$.data.created_at"),
        ]
        for array, index, key, value, path in cases:
            document = self.order()
            target = document[array][index] if array else document
            target[key] = value
            with self.assertLogs(WEBHOOK_LOGGER, "WARNING"):
                response = self.post_signed({"type": "order.created", "data": document})
            self.assertEqual(response.status_code, 400, path)
            self.assertTrue(response.json()["reason"].startswith(path), response.text)
        document = self.order()
        del document["lines"][0]["quantity"]
        with mute_logger(WEBHOOK_LOGGER):
            response = self.post_signed({"type": "order.created", "data": document})
        self.assertEqual(response.status_code, 400)
        self.assertIn("$.data.lines[0].quantity", response.json()["reason"])
        self.assertFalse(self.messages(), "nothing stored")

    def test_cancellation_refund_payment_and_shipment(self):
        document = self.order()
        document["payment"] = {"status": "pending", "gateways": ["stripe"]}
        self.assertEqual(self.deliver("order.created", document).state, "done")
        order = self.env["integration.binding"]._find_record(
            self.backend, "sale.order", document["external_id"]
        )
        payment = self.deliver(
            "payment.succeeded",
            {
                "external_id": "pi_1",
                "amount": "58.00",
                "currency": "EUR",
                "gateway": "stripe",
                "reference": "pi_1",
                "match": {"order_name": "#1001"},
            },
        )
        self.assertEqual(payment.state, "done", payment.last_error)
        self.assertEqual(payment._get_record().amount, 58.0)
        refund = self.deliver(
            "refund.created",
            {
                "external_id": "re_1",
                "order_external_id": document["external_id"],
                "lines": [{"line_external_id": "13760439943356", "quantity": 1}],
                "amount": "12.00",
            },
        )
        self.assertEqual(refund.state, "done", refund.last_error)
        credit_note = refund._get_record()
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.amount_total, 12.0)
        picking = order.picking_ids
        picking.carrier_tracking_ref = "TRACK-1"
        event = {
            "tracking_number": "TRACK-1",
            "carrier": "UPS",
            "status": "in_transit",
            "occurred_at": "2026-03-15T10:00:00Z",
        }
        self.assertEqual(self.deliver("shipment.updated", event).state, "done")
        self.assertEqual(picking.delivery_state, "in_transit")
        older = dict(event, status="label_created", occurred_at="2026-03-15T08:00:00Z")
        self.deliver("shipment.updated", older, msg_id="older-event")
        self.assertEqual(picking.delivery_state, "in_transit", "never regresses")
        cancelled = self.deliver(
            "order.cancelled",
            {
                "external_id": document["external_id"],
                "cancelled_at": "2026-03-15T11:00:00Z",
                "reason": "customer",
            },
        )
        self.assertEqual(cancelled.state, "done", cancelled.last_error)
        self.assertEqual(order.state, "cancel")

    def test_payment_before_its_order_waits(self):
        message = self.deliver(
            "payment.succeeded",
            {
                "external_id": "pi_early",
                "amount": "10.00",
                "currency": "EUR",
                "gateway": "stripe",
                "match": {"order_external_id": "not-yet"},
            },
        )
        self.assertEqual(message.state, "failed")
        self.assertIn("waiting for dependency", message.last_error)

    @FUZZ_SETTINGS
    @given(
        topic=st.sampled_from(
            [
                "order.created",
                "order.updated",
                "order.cancelled",
                "refund.created",
                "payment.succeeded",
                "shipment.updated",
            ]
        ),
        data=JSON_VALUES,
    )
    def test_canonical_topics_fuzzed_never_5xx(self, topic, data):
        with mute_logger(WEBHOOK_LOGGER):
            response = self.post_signed({"type": topic, "data": data})
        self.assertIn(response.status_code, (200, 400), response.content[:200])
        if response.status_code == 400:
            # the schema's first failing path, or an input rule (1e400...)
            self.assertTrue(response.json()["reason"])

    def test_versions_of_an_order_apply_in_their_own_order(self):
        v1 = self.order()
        v2 = copy.deepcopy(v1)
        v2["updated_at"] = "2026-03-14T10:00:00Z"
        v2["lines"][1]["quantity"] = 3
        v2["totals"]["total"] = "82.00"
        self.backend.confirm_policy = "quotation"
        newer = self.deliver("order.updated", v2)
        self.assertEqual(newer.external_ref, v1["external_id"])
        self.assertEqual(newer.sequence_key, f"order:{v1['external_id']}")
        self.assertEqual(str(newer.event_at), "2026-03-14 10:00:00")
        older = self.deliver("order.created", v1)
        self.assertEqual(older.state, "ignored", "stale: a newer version applied")
        order = newer._get_record()
        self.assertEqual(order.order_line[1].product_uom_qty, 3)

    def test_refund_total_differing_from_the_channel_is_refused(self):
        self.backend.post_refunds = True
        document = self.order()
        self.assertEqual(self.deliver("order.created", document).state, "done")
        refund = self.deliver(
            "refund.created",
            {
                "external_id": "re_wrong",
                "order_external_id": document["external_id"],
                "lines": [{"line_external_id": "13760439943356", "quantity": 1}],
                "amount": "99.00",
            },
        )
        self.assertEqual(refund.state, "dead")
        self.assertIn("99.00", refund.last_error)
        credit_note = refund._get_record()
        self.assertEqual(credit_note.state, "draft", "never posted with a wrong total")
        order = self.env["integration.binding"]._find_record(
            self.backend, "sale.order", document["external_id"]
        )
        self.assertIn(
            "Refund re_wrong: total differs from the channel",
            order.activity_ids.mapped("summary"),
        )
        refund.action_replay()
        refund._job_process()
        self.assertEqual(
            self.env["account.move"].search_count([("ref", "=", "Refund re_wrong")]),
            1,
            "a replay credits once",
        )

    def test_imports_and_postings_publish_their_events(self):
        message = self.deliver("order.created", self.order())
        order = message._get_record()
        published = self.env["integration.event"].search(
            [("correlation_id", "=", message.correlation_id)]
        )
        self.assertEqual(
            set(published.mapped("topic")), {"order.imported", "payment.received"}
        )
        imported = published.filtered(lambda e: e.topic == "order.imported")
        self.assertEqual(imported.payload["id"], order.id)
        self.assertEqual(imported.payload["external_id"], "5551234567890")
        invoice = order._create_invoices()
        invoice.action_post()
        posted = self.env["integration.event"].search(
            [("topic", "=", "invoice.posted"), ("res_id", "=", invoice.id)]
        )
        self.assertEqual(posted.payload["sale_order_ids"], order.ids)
        self.assertEqual(posted.payload["amount_total"], "58.00")
