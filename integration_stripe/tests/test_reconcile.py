from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from odoo import fields
from odoo.tests import tagged

from .common import StripeCase


def stripe_time(seconds):
    """Naive UTC datetime of Stripe's Unix ``seconds``, as Odoo stores them."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestReconcile(StripeCase):
    def setUp(self):
        super().setUp()
        self.start = fields.Datetime.now() - timedelta(minutes=5)
        self.backend.reconcile_checkpoint = self.start

    def paid_invoice_event(self, amount):
        invoice = self.make_invoice(float(amount))
        intent = self.sim.create_payment(
            amount, metadata={"odoo_invoice": invoice.name}
        )
        return invoice, intent, self.sim.event("payment_intent.succeeded", intent)

    def until_now(self):
        """The end of a run covering every event the simulator rendered."""
        return stripe_time(self.sim.tick())

    def event_queries(self):
        return [
            parse_qs(urlsplit(request.path).query)
            for request in self.sim.requests
            if urlsplit(request.path).path == "/v1/events"
        ]

    def test_lost_payment_webhook_is_found_and_healed_once(self):
        _invoice, received_intent, received = self.paid_invoice_event("20.00")
        self.deliver(received)
        invoice, intent, lost = self.paid_invoice_event("58.00")
        # an event type the connector does not handle is not pulled
        self.sim.event("customer.created", {"id": "cus_1", "object": "customer"})

        run = self.backend._reconcile_from_checkpoint(date_to=self.until_now())
        self.assertEqual(run.state, "done", run.error)
        self.assertEqual((run.checked_count, run.missing_count), (2, 1))
        self.assertEqual(run.healed_count, 1)
        line = run.line_ids
        self.assertEqual(
            (line.topic, line.idempotency_key, line.external_ref, line.sequence_key),
            ("payment_intent.succeeded", lost["id"], intent["id"], intent["id"]),
        )
        message = line.inbox_message_id
        self.assertEqual(message.idempotency_key, lost["id"])
        self.assertEqual(message.event_at, stripe_time(lost["created"]))
        self.assertEqual(message.correlation_id, lost["request"]["id"])
        self.run_pending()
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(invoice.payment_state, "paid")
        fee = self.record_of(
            "account.move", self.sim.charge_of(intent)["balance_transaction"]
        )
        self.assertEqual(fee.state, "posted", "the healed payment's fee follows")
        query = self.event_queries()[0]
        self.assertIn("payment_intent.succeeded", query["types[]"])
        self.assertNotIn("stripe.fee", query["types[]"])
        self.assertEqual(
            int(query["created[gte]"][0]),
            int(self.start.replace(tzinfo=UTC).timestamp()),
        )

        # the webhook arrives after all: a duplicate, nothing booked again
        late = self.deliver(lost)
        self.assertEqual(late, message)
        self.assertEqual(late.duplicate_count, 1)
        self.run_pending()
        self.assertEqual(
            self.env["account.payment"].search_count(
                [("journal_id", "=", self.backend.stripe_journal_id.id)]
            ),
            2,
            "the received payment and the healed one, once each",
        )
        self.assertTrue(self.payment_of(received_intent))

    def test_paging_over_several_pages(self):
        self.patch(type(self.backend), "_stripe_events_page_size", lambda b: 2)
        events = [self.paid_invoice_event(f"{10 + i}.00")[2] for i in range(5)]
        items = self.backend._reconcile(self.start, self.until_now())
        self.assertEqual(
            [item["idempotency_key"] for item in items],
            [event["id"] for event in events],
            "every event once, oldest first",
        )
        self.assertEqual({item["status"] for item in items}, {"missing"})
        queries = self.event_queries()
        self.assertEqual(len(queries), 3, "5 events in pages of 2")
        self.assertNotIn("starting_after", queries[0])
        # Stripe lists newest first: the next page starts after the oldest shown
        self.assertEqual(queries[1]["starting_after"], [events[3]["id"]])
        self.assertEqual(queries[2]["starting_after"], [events[1]["id"]])

    def test_throttled_page_waits_and_asks_again(self):
        self.patch(type(self.backend), "_stripe_events_page_size", lambda b: 1)
        events = [self.paid_invoice_event(f"{10 + i}.00")[2] for i in range(2)]
        self.sim.throttle(1, retry_after=1)
        items = self.backend._reconcile(self.start, self.until_now())
        self.assertEqual(
            [item["idempotency_key"] for item in items], [e["id"] for e in events]
        )
        self.assertEqual(len(self.event_queries()), 3, "a 429, then two pages")

    def test_already_received_events_are_ok(self):
        events = [self.paid_invoice_event("15.00")[2] for _i in range(2)]
        for event in events:
            self.deliver(event)
        run = self.backend._reconcile_from_checkpoint(date_to=self.until_now())
        self.assertEqual(run.state, "done", run.error)
        self.assertEqual((run.checked_count, run.missing_count), (2, 0))
        self.assertFalse(run.line_ids)

    def test_checkpoint_moves_on_only_after_a_successful_run(self):
        self.paid_invoice_event("11.00")
        first_end = self.until_now()
        run = self.backend._reconcile_from_checkpoint(date_to=first_end)
        self.assertEqual(run.missing_count, 1)
        self.assertEqual(self.backend.reconcile_checkpoint, first_end)

        self.sim.tick(5)
        _invoice, _intent, later = self.paid_invoice_event("12.00")
        self.sim.go_down()
        second_end = self.until_now()
        failed = self.backend._reconcile_from_checkpoint(date_to=second_end)
        self.assertEqual(failed.state, "failed")
        self.assertIn("503", failed.error)
        self.assertEqual(self.backend.reconcile_checkpoint, first_end)

        self.sim.come_back()
        run = self.backend._reconcile_from_checkpoint(date_to=second_end)
        self.assertEqual(run.state, "done", run.error)
        query = self.event_queries()[-1]
        self.assertEqual(
            int(query["created[gte]"][0]),
            int(first_end.replace(tzinfo=UTC).timestamp()),
        )
        self.assertEqual(run.line_ids.idempotency_key, later["id"])
        self.assertEqual(self.backend.reconcile_checkpoint, second_end)

    def test_healing_twice_applies_once(self):
        invoice, intent, lost = self.paid_invoice_event("30.00")
        end = self.until_now()
        Run = self.env["integration.reconciliation.run"]
        # two runs over the same window before either heals: both find it
        first = Run._run_for(self.backend, self.start, end)
        second = Run._run_for(self.backend, self.start, end)
        self.assertEqual((first.missing_count, second.missing_count), (1, 1))
        first.action_heal()
        second.action_heal()
        # and a line healed again by hand
        second.line_ids.healed = False
        second.action_heal()
        message = first.line_ids.inbox_message_id
        self.assertEqual(second.line_ids.inbox_message_id, message)
        self.assertEqual(message.duplicate_count, 2)
        self.run_pending()
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(
            self.env["integration.inbox.message"].search_count(
                [
                    ("backend_id", "=", self.backend.id),
                    ("idempotency_key", "=", lost["id"]),
                ]
            ),
            1,
        )
        self.assertEqual(len(self.payment_of(intent)), 1)
        # once received, a third run finds it ok
        third = Run._run_for(self.backend, self.start, end)
        self.assertEqual((third.checked_count, third.missing_count), (1, 0))

    def test_hourly_pull_is_a_core_scheduled_reconciliation(self):
        backend = self.backend
        self.assertEqual(
            (
                backend.reconcile_enabled,
                backend.reconcile_interval_hours,
                backend.reconcile_from_checkpoint,
                backend.reconcile_auto_heal,
            ),
            (True, 1, True, True),
        )
        self.assertTrue(backend.reconcile_cron_id.active)
        self.sim.tick(-10)  # the cron's run ends now: an event of 9 s ago
        invoice, _intent, _lost = self.paid_invoice_event("9.00")
        backend._cron_reconcile()
        run = backend.reconciliation_run_ids[:1]
        self.assertEqual((run.state, run.healed_count), ("done", 1), run.error)
        self.run_pending()
        self.assertEqual(invoice.payment_state, "paid")
