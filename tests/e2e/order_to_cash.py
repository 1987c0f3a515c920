"""Order to cash across Shopify, Stripe and a carrier, end to end (issue #16).

One run serves a copy of a template database with a real Odoo server and its
queue_job runner, and plays the three systems with their simulators on
127.0.0.1, each webhook signed as its provider signs it. For every order of
the scenario:

1. Shopify ``orders/create`` -> a confirmed sale order;
2. Stripe ``payment_intent.succeeded`` (the Shopify order's name in its
   metadata) -> a posted payment on the order, its fee booked; some orders get
   a partial ``refund.created``;
3. the delivery order is validated in Odoo -> the carrier's shipment, label
   and tracking number through the outbox -> the Shopify fulfillment, with
   that tracking number;
4. the carrier's ``in_transit``, ``out_for_delivery``, ``delivered`` -> the
   invoice posted on delivery and reconciled with the payment, the Shopify
   fulfillment marked delivered;
5. a Stripe ``payout.paid`` of the order's transactions -> a transfer from the
   Stripe journal to the bank journal.

Modes: ``straight`` (each webhook once, in order), ``shuffled`` (each webhook
twice, shuffled within its order: the payment before its order, a refund
before its payment, ``delivered`` before ``in_transit``) and ``drift`` (one
Shopify order and one Stripe payment never delivered; the scheduled
reconciliation runs find them). Every step is checked as it settles; the run
ends with the canonical dump of :mod:`books`.

Plain Python, run as a program by ``tests/test_order_to_cash.py``::

    python tests/e2e/order_to_cash.py template --db T
    python tests/e2e/order_to_cash.py scenario --out scenario.json
    python tests/e2e/order_to_cash.py run --template T --db D --mode straight \
        --scenario scenario.json --out dump.json
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [
    os.path.dirname(HERE),  # tests/, for the e2e package
    os.path.join(ROOT, "integration_shopify", "tests"),
    os.path.join(ROOT, "integration_stripe", "tests"),
    os.path.join(ROOT, "integration_core", "tests"),
]

from e2e import books, harness, world  # noqa: E402

MODULES = "integration_suite"
MODES = ("straight", "shuffled", "drift")
REFUND = "5.00"
REFUND_TOPIC = "refund.created"
SHIPPING = ("Standard", "5.00")
JOURNEY = ("in_transit", "out_for_delivery", "delivered")
# the orders the drift run loses: one Shopify order, one Stripe payment
LOST_ORDER, LOST_PAYMENT = 3, 2


class ScenarioFailed(AssertionError):
    """Some checks of a run failed; the message lists them all."""


# -- the scenario ----------------------------------------------------------------------
def build_scenario(count=20, seed=16):
    """``count`` Shopify orders (payloads fixed once, so every run receives the
    same ids), every fifth with a partial refund."""
    import shopify_simulator as shopify

    rng = random.Random(seed)
    skus = world.skus()
    orders = []
    for number in range(1, count + 1):
        lines = []
        for sku in rng.sample(skus, rng.randint(1, 3)):
            index = skus.index(sku)
            lines.append((sku, rng.randint(1, 3), f"{10 + index:.2f}"))
        payload = shopify.order_payload(
            lines,
            order_id=7_160_000_000 + number,
            name=f"#O2C{number:03d}",
            email=f"o2c-{number:03d}@example.com",
            shipping=SHIPPING,
            # a customer of its own: the importer also matches customers by
            # phone, which would join orders placed at the same time or not
            # depending on which commits first
            shipping_address=shopify.address(
                name=f"Customer {number:03d}", phone=f"+1 613 555 {number:04d}"
            ),
            gateway="stripe",
        )
        orders.append(
            {
                "number": number,
                "payload": payload,
                "refund": REFUND if number % 5 == 0 else None,
            }
        )
    return {"built_at": datetime.now(UTC).isoformat(), "orders": orders}


def delivery_plan(events, mode, rng):
    """The deliveries of one order's (or parcel's) ``events``: once in order,
    or twice shuffled, the first pass backwards (the later event first)."""
    if mode != "shuffled":
        return list(events)
    again = list(events)
    rng.shuffle(again)
    return list(reversed(events)) + again


# -- one run ------------------------------------------------------------------------------
class Run:
    """One run of the scenario on database ``db`` (a copy of ``template``)."""

    def __init__(self, scenario, db, template, mode, log_dir, seed=16):
        assert mode in MODES, mode
        self.scenario, self.db, self.template, self.mode = scenario, db, template, mode
        self.orders = scenario["orders"]
        self.by_ref = {order["payload"]["name"]: order for order in self.orders}
        self.log_dir = log_dir
        self.rng = random.Random(seed)
        self.errors = []
        self.timings = {}
        self.server = self.backends = None
        self.sims = {}
        self.senders = {}
        self.stripe_objects = {}

    # checks: every failure is kept, the run goes on to say all that is wrong
    def expect(self, condition, what):
        if not condition:
            self.errors.append(what)
        return condition

    def phase(self, name, started):
        self.timings[name] = round(time.monotonic() - started, 1)

    # -- servers --------------------------------------------------------------------
    def start(self):
        import shopify_simulator as shopify
        import stripe_simulator as stripe

        harness.copy_database(self.template, self.db)
        harness.registry(self.db)  # Odoo's addons path, for the carrier simulator
        from odoo.addons.integration_carrier.tests import carrier_simulator as carrier

        self.carrier_module = carrier
        self.sims = {
            "shopify": shopify.ShopifySimulator(access_token=world.SHOPIFY_TOKEN),
            "stripe": stripe.StripeSimulator(api_key=world.STRIPE_API_KEY),
            "carrier": carrier.CarrierSimulator(api_key=world.CARRIER_API_KEY),
        }
        for sim in self.sims.values():
            sim.start()
        urls = {
            "shopify": self.sims["shopify"].base_url,
            "stripe": self.sims["stripe"].url,
            "carrier": self.sims["carrier"].url,
        }
        self.backends = world.seed(self.db, urls)
        world.use_fast_retries(self.db)
        for order in self.orders:
            self.sims["shopify"].add_order(order["payload"])
        self.server = harness.OdooServer(
            self.db,
            workers=2,
            channels="root:4",
            log=os.path.join(self.log_dir, f"{self.db}-server.log"),
        ).start()
        base = self.server.url
        self.senders = {
            "shopify": shopify.WebhookSender(
                base + self.backends["shopify"]["url"],
                self.backends["shopify"]["secret"],
            ),
            "stripe": stripe.WebhookSender(
                base + self.backends["stripe"]["url"],
                self.backends["stripe"]["secret"],
            ),
            "carrier": carrier.WebhookSender(
                base + self.backends["carrier"]["url"],
                self.backends["carrier"]["secret"],
                dialect="easypost",
            ),
        }

    def stop(self):
        if self.server:
            self.server.stop()
        for sim in self.sims.values():
            sim.stop()

    def settle(self, timeout=240, waiting=None):
        """Until no job is left, but those of inbox messages of topic
        ``waiting`` waiting for something a later phase brings."""
        if not waiting:
            harness.wait_for_idle(self.db, timeout=timeout, settle=1.5)
            return

        def busy():
            return harness.query(
                self.db,
                """SELECT count(*) FROM queue_job j
                   WHERE j.state IN %s AND NOT EXISTS (
                       SELECT 1 FROM integration_inbox_message m
                       WHERE m.topic = %s AND m.state = 'failed'
                         AND j.func_string = 'integration.inbox.message('
                             || m.id || ',)._job_process()')""",
                (harness.PENDING_JOB_STATES, waiting),
            )[0][0]

        def idle():
            if busy():
                return False
            time.sleep(1.5)
            return not busy()

        harness.wait_until(
            idle, timeout=timeout, what=f"an idle job queue in {self.db}"
        )

    def post(self, system, delivery):
        """One webhook delivery; the provider would retry anything but 200."""
        sender = self.senders[system]
        if system == "shopify":
            response = sender.send(*delivery)
        else:
            response = sender.send(delivery)
        self.expect(
            response.status_code == 200,
            f"{system} webhook answered {response.status_code}: {response.text[:200]}",
        )

    # -- 1-2: orders, payments, refunds ---------------------------------------------------
    def intake(self):
        started = time.monotonic()
        stripe = self.sims["stripe"]
        for order in self.orders:
            payload = order["payload"]
            intent = stripe.create_payment(
                payload["total_price"],
                metadata={"shopify_order": payload["name"]},
                email=payload["email"],
            )
            events = [
                ("shopify", ("orders/create", payload)),
                ("stripe", stripe.event("payment_intent.succeeded", intent)),
            ]
            objects = {"intent": intent, "refund": None}
            self.stripe_objects[order["number"]] = objects
            if order["refund"] and self.mode == "shuffled":
                # before its payment, and long before the invoice it waits
                # for (otherwise it comes after the delivery)
                events.append(("stripe", self.refund(order)))
            lost = self.lost(order)
            for system, delivery in delivery_plan(events, self.mode, self.rng):
                if (system, delivery_key(system, delivery)) not in lost:
                    self.post(system, delivery)
        if self.mode == "drift":
            self.heal_drift()
        self.settle(waiting=REFUND_TOPIC)
        self.phase("intake", started)
        self.check_intake()

    def refund(self, order):
        """The partial refund of ``order``'s payment at Stripe: its event."""
        stripe = self.sims["stripe"]
        objects = self.stripe_objects[order["number"]]
        objects["refund"] = stripe.create_refund(
            objects["intent"], amount=order["refund"]
        )
        return stripe.event("refund.created", objects["refund"])

    def lost(self, order):
        """The deliveries the drift run never makes, as ``(system, key)``."""
        if self.mode != "drift":
            return set()
        if order["number"] == LOST_ORDER:
            return {("shopify", str(order["payload"]["id"]))}
        if order["number"] == LOST_PAYMENT:
            intent = self.stripe_objects[order["number"]]["intent"]
            return {("stripe", f"payment_intent.succeeded:{intent['id']}")}
        return set()

    def heal_drift(self):
        """The scheduled reconciliation of both backends, once everything
        delivered is processed: they find the lost order and payment."""
        expected = len(self.orders) - 1

        def delivered_processed():
            orders = harness.query(
                self.db, "SELECT count(*) FROM sale_order WHERE state = 'sale'"
            )[0][0]
            busy = harness.query(
                self.db,
                "SELECT count(*) FROM integration_inbox_message"
                " WHERE state IN ('received', 'queued', 'processing')",
            )[0][0]
            return orders >= expected and not busy

        harness.wait_until(delivered_processed, timeout=180, what="the intake")
        since = datetime.fromisoformat(self.scenario["built_at"]) - timedelta(hours=1)
        with harness.environment(self.db) as env:
            for system in ("shopify", "stripe"):
                backend = env["integration.backend"].browse(self.backends[system]["id"])
                backend.write(
                    {
                        "reconcile_enabled": True,
                        "reconcile_from_checkpoint": True,
                        "reconcile_auto_heal": True,
                        "reconcile_checkpoint": since.replace(tzinfo=None),
                    }
                )
        runs = {}
        for system in ("shopify", "stripe"):
            # what the backend's scheduled action runs, run now
            with harness.environment(self.db) as env:
                backend = env["integration.backend"].browse(self.backends[system]["id"])
                backend.reconcile_cron_id.method_direct_trigger()
            with harness.environment(self.db) as env:
                run = env["integration.reconciliation.run"].search(
                    [("backend_id", "=", self.backends[system]["id"])],
                    order="id desc",
                    limit=1,
                )
                runs[system] = books.reconciliation_summary(run)
        self.drift = runs
        for system, summary in runs.items():
            self.expect(
                summary["state"] == "done" and summary["missing"] == 1,
                f"{system} reconciliation: {summary}",
            )

    def check_intake(self):
        rows = books.orders_by_ref(self.db)
        self.expect(len(rows) == len(self.orders), f"sale orders: {len(rows)}")
        for order in self.orders:
            row = rows.get(order["payload"]["name"])
            if not self.expect(row, f"{order['payload']['name']}: no sale order"):
                continue
            self.expect(row["state"] == "sale", f"{row['ref']}: state {row['state']}")
            self.expect(
                row["amount_total"] == order["payload"]["total_price"],
                f"{row['ref']}: total {row['amount_total']}",
            )
        payments = books.order_payments(self.db)
        for order in self.orders:
            ref = order["payload"]["name"]
            paid = payments.get(ref, [])
            inbound = [p for p in paid if p["payment_type"] == "inbound"]
            self.expect(
                len(inbound) == 1 and inbound[0]["state"] in ("in_process", "paid"),
                f"{ref}: inbound payments {inbound}",
            )

    # -- 3: shipping ------------------------------------------------------------------------
    def ship(self):
        started = time.monotonic()
        refs = [order["payload"]["name"] for order in self.orders]
        for ref in refs:
            with harness.environment(self.db, {"tracking_disable": True}) as env:
                order = env["sale.order"].search([("client_order_ref", "=", ref)])
                picking = order.picking_ids.filtered(
                    lambda p: p.picking_type_code == "outgoing" and p.state != "done"
                )
                picking.action_assign()
                for move in picking.move_ids:
                    move.quantity = move.product_uom_qty
                move_ids = picking.move_ids
                move_ids.picked = True
                # no SMS wizard: the warehouse user says yes
                picking.with_context(skip_sms=True).button_validate()
        self.settle(waiting=REFUND_TOPIC)
        self.phase("ship", started)
        self.check_shipping()

    def check_shipping(self):
        parcels = books.parcels(self.db)
        carrier = self.sims["carrier"]
        creates = carrier.received("POST", "/v2/shipments")
        created = [e for e in creates if e["path"] == "/v2/shipments"]
        bought = [e for e in creates if e["path"].endswith("/buy")]
        self.expect(
            len(created) == len(bought) == len(self.orders),
            f"carrier: {len(created)} shipments and {len(bought)} labels bought "
            f"for {len(self.orders)} pickings",
        )
        fulfillments = {
            (f.get("tracking_info") or {}).get("number")
            for f in self.sims["shopify"].fulfillments
        }
        self.expect(
            len(self.sims["shopify"].fulfillments) == len(self.orders),
            f"Shopify fulfillments: {len(self.sims['shopify'].fulfillments)}",
        )
        for ref, parcel in parcels.items():
            self.expect(parcel["state"] == "done", f"{ref}: picking {parcel['state']}")
            self.expect(
                parcel["carrier"] == "Demo carrier Priority",
                f"{ref}: carrier {parcel['carrier']}",
            )
            self.expect(
                parcel["label_state"] == "done" and parcel["tracking_number"],
                f"{ref}: label {parcel['label_state']}",
            )
            self.expect(
                parcel["tracking_number"] in fulfillments,
                f"{ref}: no Shopify fulfillment with {parcel['tracking_number']}",
            )
            self.expect(parcel["shopify_fulfillment"], f"{ref}: fulfillment id")

    # -- 4: tracking ------------------------------------------------------------------------
    def track(self):
        started = time.monotonic()
        start = datetime.now(UTC) - timedelta(days=2)
        for ref, parcel in sorted(books.parcels(self.db).items()):
            if not self.expect(parcel["tracker"], f"{ref}: no tracker to follow"):
                continue
            events = self.carrier_module.journey(
                "easypost",
                parcel["tracker"],
                parcel["tracking_number"],
                start=start,
                steps=JOURNEY,
            )
            for event in delivery_plan(events, self.mode, self.rng):
                self.post("carrier", event)
            order = self.by_ref[ref]
            if order["refund"] and self.mode != "shuffled":
                # a partial refund once the customer has the parcel
                self.post("stripe", self.refund(order))
        self.settle()
        self.phase("track", started)
        self.check_tracking()

    def check_tracking(self):
        parcels = books.parcels(self.db)
        invoices = books.order_invoices(self.db)
        payments = books.order_payments(self.db)
        delivered = [
            f
            for f in self.sims["shopify"].fulfillments
            if [e.get("status") for e in f.get("events") or ()] == ["delivered"]
        ]
        self.expect(
            len(delivered) == len(self.orders),
            f"Shopify fulfillments marked delivered once: {len(delivered)}",
        )
        for ref, parcel in parcels.items():
            self.expect(
                parcel["delivery_state"] == "customer_delivered",
                f"{ref}: delivery state {parcel['delivery_state']}",
            )
            self.expect(
                parcel["events"] == sorted(JOURNEY),
                f"{ref}: tracking events {parcel['events']}",
            )
            refunds = [
                p for p in payments.get(ref, []) if p["payment_type"] == "outbound"
            ]
            self.expect(
                len(refunds) == (1 if self.by_ref[ref]["refund"] else 0),
                f"{ref}: refunds {refunds}",
            )
            invoice = invoices.get(ref, [])
            self.expect(
                len(invoice) == 1
                and invoice[0]["state"] == "posted"
                and invoice[0]["payment_state"] in ("paid", "in_payment"),
                f"{ref}: invoices {invoice}",
            )

    # -- 5: payouts ------------------------------------------------------------------------
    def payout(self):
        started = time.monotonic()
        stripe = self.sims["stripe"]
        for order in self.orders:
            objects = self.stripe_objects[order["number"]]
            txns = [stripe.charge_of(objects["intent"])["balance_transaction"]]
            if objects["refund"]:
                txns.append(objects["refund"]["balance_transaction"])
            payout = stripe.create_payout(txn_ids=txns)
            objects["payout"] = payout
            event = stripe.event("payout.paid", payout)
            for delivery in delivery_plan([event], self.mode, self.rng):
                self.post("stripe", delivery)
        self.settle()
        self.phase("payout", started)
        self.check_payouts()

    def check_payouts(self):
        transfers = books.payout_transfers(self.db)
        self.expect(
            len(transfers) == len(self.orders), f"payout transfers: {len(transfers)}"
        )
        for transfer in transfers:
            self.expect(
                # the bank's side waits for its statement line
                transfer["to_journal"] == "bank"
                and transfer["state"] in ("in_process", "paid")
                and transfer["paired"],
                f"payout {transfer}",
            )

    # -- correlation -------------------------------------------------------------------
    def check_correlation(self):
        for ref, flow in books.correlation(self.db).items():
            self.expect(
                len(flow["ids"]) == 1,
                f"{ref}: records in {len(flow['ids'])} flows: {flow['ids']}",
            )
            self.expect(
                not flow["missing_from_trace"],
                f"{ref}: messages not in the order's trace: {flow['missing_from_trace']}",
            )
            self.expect(
                flow["topics"] >= books.TRACE_TOPICS,
                f"{ref}: trace lacks {sorted(books.TRACE_TOPICS - flow['topics'])}",
            )
            self.expect(
                flow["kinds"] >= books.FLOW_KINDS,
                f"{ref}: flow lacks {sorted(books.FLOW_KINDS - flow['kinds'])}",
            )

    # -- all of it ------------------------------------------------------------------------
    def check_stock_levels(self):
        """Once everything has settled, the shop shows Odoo's free stock of
        every bound item whose stock moved (reservations included, not only
        done moves); the others were never sent."""
        free = books.free_stock(self.db)
        for (item, location), level in self.sims["shopify"].inventory_levels.items():
            key = f"{item}@{location}"
            self.expect(
                level == free.get(key),
                f"stock {key}: shop {level}, Odoo {free.get(key)}",
            )

    def play(self):
        started = time.monotonic()
        self.start()
        try:
            self.intake()
            self.ship()
            self.track()
            self.payout()
            self.check_correlation()
            self.check_stock_levels()
            dump = books.dump(self.db, self.sims)
        finally:
            self.stop()
        self.phase("total", started)
        dump["run"] = {
            "mode": self.mode,
            "timings": self.timings,
            "drift": getattr(self, "drift", None),
            "errors": self.errors,
        }
        return dump


def delivery_key(system, delivery):
    """What tells one delivery of ``system`` from another."""
    if system == "shopify":
        return str(delivery[1]["id"])
    return f"{delivery['type']}:{delivery['data']['object']['id']}"


# -- the program ------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(prog="order_to_cash")
    sub = parser.add_subparsers(dest="command", required=True)
    template = sub.add_parser("template", help="install and seed a template database")
    template.add_argument("--db", required=True)
    template.add_argument("--log", required=True)
    scenario = sub.add_parser("scenario", help="write a scenario")
    scenario.add_argument("--out", required=True)
    scenario.add_argument("--orders", type=int, default=20)
    run = sub.add_parser("run", help="play a scenario on a copy of the template")
    run.add_argument("--template", required=True)
    run.add_argument("--db", required=True)
    run.add_argument("--mode", choices=MODES, default="straight")
    run.add_argument("--scenario", required=True)
    run.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "template":
        harness.install_database(args.db, MODULES, args.log)
        # products, stock and backends once; each run points them at its simulators
        world.seed(args.db, dict.fromkeys(world.NAMES, "http://127.0.0.1:9"))
        return 0
    if args.command == "scenario":
        write_json(args.out, build_scenario(args.orders))
        return 0
    with open(args.scenario, encoding="utf-8") as handle:
        loaded = json.load(handle)
    dump = Run(
        loaded, args.db, args.template, args.mode, os.path.dirname(args.out)
    ).play()
    write_json(args.out, dump)
    sys.stdout.write(json.dumps(dump["run"], indent=1) + "\n")
    return 1 if dump["run"]["errors"] else 0


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    sys.exit(main())
