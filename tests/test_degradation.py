"""Graceful degradation of the order-to-cash flow (issue #16), one test per case.

The in-process cases run in the Odoo test process on a world seeded like the
end-to-end one (``tests/e2e/world.py``: 50 products in stock, Shopify, Stripe
and carrier backends pointing at their simulators on 127.0.0.1); jobs are run
by :class:`JobClock`, which plays the job runner in priority order and moves
the retry policy's clock (due dates, circuit cool-downs, holds) forward
instead of sleeping. The backlog case needs real workers and the queue_job
runner: it starts an Odoo server on a database of its own.

Each test reports the figures it checks (:func:`report`: logged at INFO level
and written to stdout, shown by ``pytest -s``).
"""

import logging
import os
import tempfile
import time
import uuid

from odoo import fields
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_carrier.tests import carrier_simulator as carrier_sim
from odoo.addons.integration_core.tests.common import (
    LocalServerMixin,
    pick_in_full,
    receive,
)
from odoo.addons.integration_shopify.tests import shopify_simulator as shop_sim
from odoo.addons.integration_stripe.tests import stripe_simulator as stripe_sim

from .e2e import harness, world

_logger = logging.getLogger(__name__)


def report(line, *args):
    """The figure a test checks: in the log and in the test output."""
    harness.report(line % args)


JOB_MODELS = (
    "integration.inbox.message",
    "integration.outbox.message",
    "integration.event.delivery",
)
# the tables whose due dates the clock moves, and the flow state's times
DUE_TABLES = tuple(model.replace(".", "_") for model in JOB_MODELS)
FLOW_TIMES = ("opened_until", "throttled_until", "refilled_at", "probe_started")


class JobClock:
    """The job runner of an in-process test: runs what is due, highest
    priority first, and moves time on without sleeping."""

    def __init__(self, backends):
        self.env = backends.env
        self.backends = backends
        self.now = 0  # seconds since the scenario began

    def due(self):
        now = fields.Datetime.now()
        records = []
        for model in JOB_MODELS:
            Model = self.env[model]
            records += list(
                Model.search(
                    [
                        ("state", "in", Model._waiting_states),
                        "|",
                        ("next_attempt_at", "=", False),
                        ("next_attempt_at", "<=", now),
                    ]
                )
            )
        return sorted(records, key=lambda r: (r.priority, r.create_date, r.id))

    def run(self, rounds=30):
        """Run due jobs until none is left; returns ``[(record, outcome)]``."""
        outcomes = []
        for _round in range(rounds):
            todo = self.due()
            if not todo:
                break
            for record in todo:
                record.invalidate_recordset()
                if record.state in type(record)._waiting_states:
                    outcomes.append((record, getattr(record, record._job_method)()))
            self.env.invalidate_all()
        return outcomes

    def elapse(self, seconds):
        """``seconds`` pass: due dates, circuit cool-downs and holds come nearer."""
        self.env.flush_all()
        cr = self.env.cr
        for table in DUE_TABLES:
            cr.execute(
                f"UPDATE {table} SET next_attempt_at = next_attempt_at - "  # noqa: S608
                "make_interval(secs => %s) WHERE next_attempt_at IS NOT NULL",
                (seconds,),
            )
        # the flow state is shared by the workers: moved where the code keeps it
        with self.env["integration.backend"]._flow_store() as store:
            store.cr.execute(
                "UPDATE integration_backend_flow SET "
                + ", ".join(f"{col} = {col} - %(s)s" for col in FLOW_TIMES)
                + " WHERE backend_id = ANY(%(ids)s)",
                {"s": float(seconds), "ids": self.backends.ids},
            )
        self.env.invalidate_all()
        self.now += seconds


@tagged("post_install", "-at_install")
class TestDegradation(LocalServerMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.shop = shop_sim.ShopifySimulator(
            access_token=world.SHOPIFY_TOKEN, bucket_size=10000, leak_rate=1000
        ).start()
        cls.addClassCleanup(cls.shop.stop)
        cls.stripe = stripe_sim.StripeSimulator(api_key=world.STRIPE_API_KEY).start()
        cls.addClassCleanup(cls.stripe.stop)
        cls.carrier = carrier_sim.CarrierSimulator(
            api_key=world.CARRIER_API_KEY
        ).start()
        cls.addClassCleanup(cls.carrier.stop)
        shop_url = cls.shop.base_url
        cls.backends, cls.products, cls.warehouse = world.seed_env(
            cls.env,
            {"shopify": shop_url, "stripe": cls.stripe.url, "carrier": cls.carrier.url},
        )
        cls.skus = list(cls.products)

    def setUp(self):
        super().setUp()
        self.stripe.come_back()
        self.carrier.set_mode(carrier_sim.NORMAL)
        # no Retry-After hold: the clock, not a sleep, decides when to try again
        self.carrier.outage_retry_after = None
        self.clock = JobClock(
            self.env["integration.backend"].union(*self.backends.values())
        )

    # -- the three systems' deliveries, stored as the webhook route does ----------
    def receive(self, system, payload, headers=None):
        return receive(self.backends[system], payload, headers)

    def shopify_order(self, number, quantity=1, poison=False):
        """A Shopify ``orders/create`` received (the order is in the shop too);
        ``poison``: with line items no mapping can read."""
        sku = self.skus[number % len(self.skus)]
        price = self.products[sku].list_price
        payload = shop_sim.order_payload(
            [(sku, quantity, f"{price:.2f}")], name=f"#DG{number:04d}"
        )
        self.shop.add_order(payload)
        if poison:
            payload["line_items"] = "not a list"
        message = self.receive(
            "shopify",
            payload,
            {
                "x-shopify-topic": "orders/create",
                "x-shopify-event-id": str(uuid.uuid4()),
                "x-shopify-triggered-at": shop_sim.iso(
                    fields.Datetime.now().replace(tzinfo=shop_sim.UTC)
                ),
            },
        )
        return payload, message

    def stripe_payment(self, order):
        """The PaymentIntent paying Shopify ``order`` and its event, received."""
        intent = self.stripe.create_payment(
            order["total_price"],
            currency=order["currency"].lower(),
            metadata={"shopify_order": order["name"]},
        )
        event = self.stripe.event("payment_intent.succeeded", intent)
        return intent, self.receive("stripe", event)

    def sale_order(self, payload):
        return self.env["integration.binding"]._find_record(
            self.backends["shopify"], "sale.order", payload["id"]
        )

    def stripe_payment_of(self, intent):
        return self.env["integration.binding"]._find_record(
            self.backends["stripe"], "account.payment", intent["id"]
        )

    def validate(self, order):
        """The warehouse picks and validates the order's delivery."""
        picking = pick_in_full(
            order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        )
        picking.with_context(skip_backorder=True).button_validate()
        return picking

    def assert_none_dead(self):
        for model in JOB_MODELS:
            dead = self.env[model].search([("state", "=", "dead")])
            self.assertFalse(dead, f"{model}: {dead.mapped('last_error')}")

    # -- the cases --------------------------------------------------------------------
    def test_carrier_circuit_open_orders_payments_pickings_go_on(self):
        """Carrier outage: the circuit opens after its threshold of failed
        calls; orders, payments and validations carry on; labels and tracking
        numbers follow once it closes, each bought once."""
        count = 20
        carrier = self.backends["carrier"]
        self.carrier.set_mode(carrier_sim.OUTAGE)
        orders, intents = [], []
        for number in range(count):
            payload, _message = self.shopify_order(number)
            orders.append(payload)
        self.clock.run()
        for payload in orders:
            intents.append(self.stripe_payment(payload)[0])
        self.clock.run()
        pickings = self.env["stock.picking"]
        for payload in orders:
            pickings |= self.validate(self.sale_order(payload))
        self.clock.run()
        carrier.invalidate_recordset()
        self.assertEqual(carrier.circuit_state, "open")
        confirmed = sum(self.sale_order(o).state == "sale" for o in orders)
        paid = sum(
            self.stripe_payment_of(i).state in ("in_process", "paid") for i in intents
        )
        done = sum(p.state == "done" for p in pickings)
        labels_open = len(pickings.tracking_line_ids.filtered("tracking_number"))
        self.assertEqual((confirmed, paid, done, labels_open), (count, count, count, 0))
        self.assert_none_dead()

        self.carrier.set_mode(carrier_sim.NORMAL)
        self.clock.elapse(carrier.circuit_cooldown + 1)
        self.clock.run()
        pickings.invalidate_recordset()
        labelled = pickings.filtered("carrier_tracking_ref")
        bought = self.carrier.received("POST", "/v2/shipments/")
        created = [
            entry
            for entry in self.carrier.received("POST", "/v2/shipments")
            if entry["path"] == "/v2/shipments" and entry["status"] == 200
        ]
        buys = [e for e in bought if e["path"].endswith("/buy") and e["status"] == 200]
        self.assertEqual(len(labelled), count)
        self.assertEqual(len(created), count, "one shipment per picking")
        self.assertEqual(len(buys), count, "one label bought per picking")
        self.assertEqual(len(set(labelled.mapped("carrier_tracking_ref"))), count)
        self.assert_none_dead()
        report(
            "carrier outage: %s orders confirmed, %s payments posted, %s pickings "
            "validated while the circuit was open (labels then: %s); labels after "
            "it closed: %s (%s shipments created, %s bought: each once)",
            confirmed,
            paid,
            done,
            labels_open,
            len(labelled),
            len(created),
            len(buys),
        )

    def test_stripe_down_60s_lookups_wait_and_complete(self):
        """Stripe answers 503 to every call for 60 s of the retry policy's
        clock (:meth:`JobClock.elapse` in steps of 10 s, no sleep): fee and
        payout look-ups wait (the circuit opens and they are postponed without
        spending attempts) and complete after recovery; orders and payments
        arriving meanwhile are booked at once."""
        stripe = self.backends["stripe"]
        count = 5
        orders = [self.shopify_order(100 + n)[0] for n in range(count)]
        self.clock.run()
        self.stripe.go_down()
        intents = [self.stripe_payment(order)[0] for order in orders]
        payout = self.stripe.create_payout()
        payout_message = self.receive(
            "stripe", self.stripe.event("payout.paid", payout)
        )
        self.clock.run()
        self.assertTrue(all(self.stripe_payment_of(i) for i in intents))
        Inbox = self.env["integration.inbox.message"]
        lookups = (
            Inbox.search([("backend_id", "=", stripe.id), ("topic", "=", "stripe.fee")])
            | payout_message
        )
        self.assertEqual(len(lookups), count + 1)
        waited = 0
        late_orders = []
        while self.clock.now < 60:
            self.clock.elapse(10)
            if self.clock.now == 30:
                # an order and its payment during the outage: not held up
                late_orders.append(self.shopify_order(200)[0])
                self.clock.run()
                intents.append(self.stripe_payment(late_orders[-1])[0])
            outcomes = self.clock.run()
            waited += sum(1 for r, o in outcomes if r in lookups and o == "waiting")
            self.assertFalse(lookups.filtered(lambda m: m.state in ("done", "dead")))
        late_payment = self.stripe_payment_of(intents[-1])
        self.assertIn(late_payment.state, ("in_process", "paid"))
        lookups = lookups | Inbox.search(
            [("backend_id", "=", stripe.id), ("topic", "=", "stripe.fee")]
        )
        spent = max(lookups.mapped("attempt_count"))
        self.assertLessEqual(spent, 2, "an open circuit spends no attempt")
        self.assertGreater(waited, 0)

        self.stripe.come_back()
        recovered_at = self.clock.now
        while lookups.filtered(lambda m: m.state != "done") and self.clock.now < 300:
            self.clock.elapse(10)
            self.clock.run()
        self.assertEqual(set(lookups.mapped("state")), {"done"})
        Binding = self.env["integration.binding"]
        fees = [
            Binding._find_record(
                stripe,
                "account.move",
                self.stripe.charge_of(intent)["balance_transaction"],
            )
            for intent in intents
        ]
        self.assertEqual(
            [len(fee) for fee in fees], [1] * len(intents), "one fee entry per charge"
        )
        self.assertEqual({fee.state for fee in fees}, {"posted"})
        payout_record = self.env["integration.stripe.payout"].search(
            [("backend_id", "=", stripe.id), ("name", "=", payout["id"])]
        )
        self.assertEqual(len(payout_record), 1)
        self.assert_none_dead()
        report(
            "stripe down 60 s: %s payments posted during the outage (1 order "
            "imported meanwhile); %s look-ups (fees and 1 payout) waited %s times "
            "without spending attempts (at most %s attempts of %s spent, 0 dead) "
            "and were all done %s s after Stripe came back",
            len(intents),
            len(lookups),
            waited,
            spent,
            stripe.retry_policy_id.max_attempts,
            self.clock.now - recovered_at,
        )

    def test_poison_message_dies_alone(self):
        """An order that can never map ends dead at its first attempt, with its
        reason, and the orders behind it on the same channel are processed in
        the same pass of the queue."""
        shopify = self.backends["shopify"]
        _poison, poison_message = self.shopify_order(300, poison=True)
        healthy = [self.shopify_order(301 + n)[1] for n in range(10)]
        channel = shopify._get_inbox_channel()
        jobs = self.env["queue.job"].search(
            [("channel", "=", channel), ("state", "=", "pending")],
            order="priority, date_created, id",
        )
        self.assertEqual(len(jobs), 11)
        self.assertEqual(jobs[0].records, poison_message, "the poison comes first")
        outcomes = self.clock.run(rounds=1)
        self.assertEqual(outcomes[0], (poison_message, "dead"))
        self.assertEqual(poison_message.attempt_count, 1)
        self.assertIn("payload cannot be mapped", poison_message.last_error)
        done = [m for m in healthy if m.state == "done"]
        self.assertEqual(len(done), len(healthy))
        self.assertFalse(
            [m for m in self.clock.due() if m._name == "integration.inbox.message"],
            "no message left waiting or retrying",
        )
        report(
            "poison message: dead after %s attempt (%s); %s/%s orders behind it on "
            "%s done in the same pass, none retried",
            poison_message.attempt_count,
            poison_message.last_error.splitlines()[0],
            len(done),
            len(healthy),
            channel,
        )

    def test_partial_refund_before_invoice_waits_and_applies_once(self):
        """A Stripe refund of part of a paid order arrives before the order's
        invoice (invoiced on delivery) is posted: it waits, then is booked
        against the invoice's credit note once the invoice is posted."""
        stripe = self.backends["stripe"]
        order_payload, _message = self.shopify_order(400, quantity=2)
        self.clock.run()
        intent, _payment_message = self.stripe_payment(order_payload)
        self.clock.run()
        order = self.sale_order(order_payload)
        payment = self.stripe_payment_of(intent)
        self.assertFalse(order.invoice_ids, "invoiced on delivery only")
        refund = self.stripe.create_refund(intent, amount="5.00")
        refund_message = self.receive(
            "stripe", self.stripe.event("refund.created", refund)
        )
        # delivered twice: a duplicate
        self.receive("stripe", self.stripe.event("refund.created", refund))
        self.clock.run()
        self.assertEqual(refund_message.state, "failed")
        self.assertIn("waiting for dependency", refund_message.last_error)
        self.assertFalse(self.stripe_payment_of(refund))

        # shipped, labelled, then the carrier says delivered: invoiced
        picking = self.validate(order)
        self.clock.run()
        line = picking.tracking_line_ids
        self.assertTrue(line.tracking_number)
        self.receive(
            "carrier",
            carrier_sim.easypost_tracker_event(
                line.tracker_ref,
                line.tracking_number,
                "delivered",
                shop_sim.datetime.now(shop_sim.UTC),
            ),
        )
        self.clock.run()
        invoice = picking.integration_invoice_id
        self.assertEqual(invoice.state, "posted")
        self.clock.elapse(3600)
        self.clock.run()
        self.assertEqual(refund_message.state, "done", refund_message.last_error)
        refunds = self.env["account.payment"].search(
            [
                ("journal_id", "=", stripe.stripe_journal_id.id),
                ("payment_type", "=", "outbound"),
            ]
        )
        self.assertEqual(len(refunds), 1)
        credit_note = invoice.reversal_move_ids
        self.assertEqual(len(credit_note), 1)
        self.assertEqual(credit_note.amount_total, 5.0)
        self.assertEqual(credit_note.payment_state, "paid")
        self.assertEqual(payment.reconciled_invoice_ids, invoice)
        report(
            "refund before invoice: waited %s times while %s was not invoiced; "
            "after %s was posted: %s refund payment of %s, credit note %s (%s), "
            "applied once",
            refund_message.dependency_wait_count,
            order.name,
            invoice.name,
            len(refunds),
            refunds.amount,
            credit_note.name,
            credit_note.payment_state,
        )


# -- the backlog: a real server, workers and the queue_job runner -------------------
BACKLOG = 2000
# Seeds the database and queues the backlog from a process of its own: this
# one runs Odoo's tests and cannot open a second registry. argv: e2e folder,
# database, Shopify simulator URL, number of updates; prints the backend's
# webhook details as JSON.
SEED_BACKLOG = """
import json, sys
sys.path.insert(0, sys.argv[1])
import harness, world
db, url, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
info = world.seed(db, {"shopify": url})["shopify"]
with harness.environment(db) as env:
    backend = env["integration.backend"].browse(info["id"])
    location = backend.shopify_location_ids[:1]
    products = env["product.product"].search([("default_code", "in", world.skus())])
    for number in range(count):
        # an inventory item of its own per update: none coalesces with another
        item = str(9000000 + number)
        backend._outbox_enqueue(
            "inventory/set",
            {"inventory_item_id": item, "location_id": location.shopify_location_id,
             "product_id": products[number % len(products)].id,
             "warehouse_id": location.warehouse_id.id},
            coalesce_key=f"inventory:{item}:{location.shopify_location_id}",
        )
sys.stdout.write(json.dumps(info))
"""


def test_backlog_of_inventory_updates_lets_a_new_order_through():
    """2,000 inventory updates keep both job slots busy (Odoo with 3 HTTP
    workers and queue_job channels ``root:2``, the runner's capacity below the
    workers as in production); webhooks keep being accepted meanwhile, and
    new orders overtake the backlog (priority 5 against 20), each done within
    10 s of arriving."""
    db = f"h_degrade_backlog_{uuid.uuid4().hex[:6]}"
    log = os.path.join(tempfile.gettempdir(), f"{db}.log")
    shop = shop_sim.ShopifySimulator(
        access_token=world.SHOPIFY_TOKEN, bucket_size=100000, leak_rate=10000
    ).start()
    started = time.monotonic()
    try:
        harness.install_database(db, "integration_shopify", log)
        installed = time.monotonic()
        info = harness.run_seed_script(SEED_BACKLOG, db, shop.base_url, BACKLOG)
        prepared = time.monotonic()
        with harness.OdooServer(db, workers=3, channels="root:2", log=log) as server:
            harness.wait_until(
                lambda: _sent(db) >= 20, timeout=60, what="the backlog running"
            )
            sender = shop_sim.WebhookSender(
                server.url + info["url"],
                info["secret"],
                shop_domain="demo-store.example.com",
            )
            statuses, arrivals, latencies = [], {}, {}
            for number in range(10):
                order = shop_sim.order_payload(
                    [(world.skus()[number], 1, "10.00")], name=f"#BL{number}"
                )
                arrivals[str(order["id"])] = time.monotonic()
                statuses.append(sender.send("orders/create", order).status_code)
            depth_after_intake = harness.queue_depth(db)

            def all_done():
                for order_id in _done_orders(db, list(arrivals)):
                    latencies.setdefault(
                        order_id, time.monotonic() - arrivals[order_id]
                    )
                return len(latencies) == len(arrivals)

            harness.wait_until(all_done, timeout=60, interval=0.1, what="the orders")
            backlog_left = BACKLOG - _sent(db)
        assert statuses == [200] * len(statuses), statuses
        assert max(latencies.values()) <= 10, latencies
        assert backlog_left > 0, "the backlog was gone before the orders"
        report(
            "backlog: %s inventory updates queued on 2 job slots; %s webhooks "
            "accepted meanwhile (%s refused), queue depth then %s; the new orders "
            "were done %.1f s (max) after arriving, %s updates still queued "
            "(install %.0f s, seed and queue %.0f s, scenario %.0f s)",
            BACKLOG,
            statuses.count(200),
            len(statuses) - statuses.count(200),
            depth_after_intake,
            max(latencies.values()),
            backlog_left,
            installed - started,
            prepared - installed,
            time.monotonic() - prepared,
        )
    finally:
        shop.stop()
        harness.drop_database(db)


def _sent(db):
    return harness.query(
        db,
        "SELECT count(*) FROM integration_outbox_message"
        " WHERE topic = 'inventory/set' AND state = 'sent'",
    )[0][0]


def _done_orders(db, order_ids):
    rows = harness.query(
        db,
        "SELECT external_ref FROM integration_inbox_message"
        " WHERE topic = 'orders/create' AND state = 'done' AND external_ref IN %s",
        (tuple(order_ids),),
    )
    return [row[0] for row in rows]
