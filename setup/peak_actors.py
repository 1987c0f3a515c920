"""The people and systems of the peak besides the shop's webhooks: the buyers
paying through Stripe, the warehouse validating deliveries, the carrier
sending its tracking, and the carrier's outage.

Used by ``setup/demo`` with :mod:`peak`. Each actor is a thread of this
process: the warehouse validates pickings through Odoo's normal validation in
an environment of its own (so the carrier outbox buys labels, and stock levels
flow to the shop), the others talk HTTP to Odoo or turn a simulator's knob.
"""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import harness
import peak

_logger = logging.getLogger("setup.demo")

TRACKING_STEPS = ("in_transit", "delivered")  # the label is the first step
TRACKING_GAP = 2.0  # seconds between a parcel's tracking events
OUTAGE_SECONDS = 30.0


class StripeBuyers:
    """Buyers paying their Shopify orders through Stripe: each payment is a
    PaymentIntent of the simulator with the order's name in its metadata,
    delivered as Stripe signs it."""

    def __init__(self, simulator, sender):
        self.simulator = simulator
        self.sender = sender
        self.intents = {}  # Shopify order name -> PaymentIntent
        self.lock = threading.Lock()

    def pay(self, order):
        """The signed delivery of ``order``'s payment, made at the first call."""
        delivery = []

        def build():
            with self.lock:
                if not delivery:
                    intent = self.simulator.create_payment(
                        order["total_price"],
                        currency=order["currency"].lower(),
                        metadata={"shopify_order": order["name"]},
                        email=order.get("email"),
                        description=f"Shopify order {order['name']}",
                    )
                    self.intents[order["name"]] = intent
                    event = self.simulator.event("payment_intent.succeeded", intent)
                    delivery.append(self.sender.build(event))
                return delivery[0]

        return build


class Actor:
    """A thread doing :meth:`step` every ``interval`` seconds until stopped."""

    interval = 1.0

    def __init__(self):
        self.stop_event = threading.Event()
        self.thread = None
        self.errors = 0
        self.last_error = None

    def step(self):
        """One round of work; returns whether there was anything to do."""
        raise NotImplementedError

    def run(self):
        while not self.stop_event.wait(self.interval):
            try:
                self.step()
            except Exception as err:  # noqa: BLE001 - counted and shown, then again
                self.errors += 1
                self.last_error = f"{type(err).__name__}: {err}"
                _logger.debug("%s: %s", type(self).__name__, err, exc_info=True)

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def stop(self, wait=10):
        self.stop_event.set()
        if self.thread:
            self.thread.join(wait)


class Warehouse(Actor):
    """A warehouse worker: counts the stock at the start of the day (a level
    per product to send to the shop), then validates the deliveries of the
    run's confirmed orders a few seconds after they appear, one picking per
    transaction, through Odoo's normal validation."""

    batch = 25
    settle_seconds = 3

    def __init__(self, db, refs_like):
        super().__init__()
        self.db = db
        self.refs_like = refs_like
        self.validated = 0
        self.pending = None  # deliveries waiting, at the last round
        self.counted = set()  # products whose stock was counted
        self.stock_counted = False

    def count_stock(self):
        """One more unit of each product counted, a product per transaction
        (the server reserves the same stock meanwhile); what conflicts is
        counted in a later round."""
        with harness.environment(self.db) as env:
            todo = (
                env["product.product"]
                .search([("default_code", "in", peak.demo_skus())])
                .ids
            )
        for product_id in todo:
            if product_id in self.counted or self.stop_event.is_set():
                continue
            try:
                self.attempt(
                    lambda env, product_id=product_id: peak.bump_stock(
                        env, env["product.product"].browse(product_id)
                    )
                )
            except Exception:  # noqa: BLE001,S112 - counted; the next round
                continue
            self.counted.add(product_id)
        return len(self.counted) >= len(todo)

    def attempt(self, work, tries=3):
        """``work(env)`` in a transaction of its own, tried again after a
        concurrent update.

        :raises: the last error when every try failed
        """
        for number in range(tries):
            try:
                with harness.environment(self.db, {"tracking_disable": True}) as env:
                    return work(env)
            except Exception as err:  # noqa: BLE001 - a conflict: again, then later
                self.errors += 1
                self.last_error = f"{type(err).__name__}: {str(err)[:200]}"
                if number == tries - 1:
                    raise
                time.sleep(0.2 * (number + 1))

    def _waiting(self, env):
        from odoo import fields

        domain = [
            ("picking_type_code", "=", "outgoing"),
            ("state", "in", ("confirmed", "assigned")),
            ("sale_id.client_order_ref", "=like", self.refs_like),
        ]
        pickings = env["stock.picking"].search(domain, order="id")
        self.pending = len(pickings)
        ready_before = fields.Datetime.subtract(
            fields.Datetime.now(), seconds=self.settle_seconds
        )
        return pickings.filtered(lambda p: p.create_date <= ready_before).ids

    def validate(self, env, picking):
        """Pick every move's demand and validate, as the Validate button does."""
        if picking.state == "confirmed":
            picking.action_assign()
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        # the SMS confirmation is a one-time question to the user: not asked
        result = picking.with_context(
            skip_backorder=True, skip_sms=True
        ).button_validate()
        if result is not True:
            raise RuntimeError(f"{picking.name} not validated: {result}")

    def _validate_one(self, env, picking_id):
        """Whether the picking was validated (not by someone else first)."""
        picking = env["stock.picking"].browse(picking_id)
        if picking.state not in ("confirmed", "assigned"):
            return False
        self.validate(env, picking)
        return True

    def step(self):
        if not self.stock_counted:
            self.stock_counted = self.count_stock()
        with harness.environment(self.db) as env:
            ids = self._waiting(env)
        for picking_id in ids[: self.batch]:
            if self.stop_event.is_set():
                break
            try:
                # counted once committed: a conflict at commit is tried again
                if self.attempt(
                    lambda env, picking_id=picking_id: self._validate_one(
                        env, picking_id
                    )
                ):
                    self.validated += 1
            except Exception:  # noqa: BLE001,S112 - counted; the next round
                continue
        return bool(ids)


class CarrierTracking(Actor):
    """The carrier: once a label is bought, its parcel's tracking events up
    to delivered, :data:`TRACKING_GAP` seconds apart, signed as the carrier
    signs them, through the dispatcher."""

    def __init__(self, simulator, sender, dispatcher, timeline):
        super().__init__()
        self.simulator = simulator
        self.sender = sender
        self.dispatcher = dispatcher
        self.timeline = timeline
        self.tracked = {}  # shipment id -> tracking code
        self.seq = iter(range(2 * 10**9, 3 * 10**9))

    def _bought(self):
        with self.simulator.lock:
            return [
                (shipment["id"], shipment["tracking_code"], shipment["tracker"]["id"])
                for shipment in self.simulator.shipments.values()
                if shipment.get("tracker") and shipment["id"] not in self.tracked
            ]

    def step(self):
        from odoo.addons.integration_carrier.tests.carrier_simulator import journey

        bought = self._bought()
        now = self.timeline.now()
        start = datetime.now(UTC) - timedelta(hours=len(TRACKING_STEPS))
        sends = []
        for shipment_id, code, tracker_id in bought:
            self.tracked[shipment_id] = code
            events = journey(
                "easypost", tracker_id, code, start=start, steps=TRACKING_STEPS, hours=1
            )
            for number, event in enumerate(events):
                body, headers = self.sender.build(event)
                sends.append(
                    peak.Send(
                        now + 1 + number * TRACKING_GAP,
                        next(self.seq),
                        "tracking",
                        topic=event["description"],
                        body=body,
                        headers=headers,
                        system="carrier",
                    )
                )
        self.dispatcher.add(sends)
        return bool(bought)


class CarrierOutage(Actor):
    """One outage of the carrier's API (503 to every call) for ``seconds``,
    starting ``at`` seconds into the run; recorded on the timeline."""

    interval = 0.2

    def __init__(self, simulator, timeline, at, seconds=OUTAGE_SECONDS):
        super().__init__()
        self.simulator = simulator
        self.timeline = timeline
        self.at, self.seconds = at, seconds
        self.state = "before"

    def step(self):
        now = self.timeline.now()
        if self.state == "before" and now >= self.at:
            self.simulator.set_mode("outage")
            with self.timeline.lock:
                self.timeline.outages.append([now, None])
            self.state = "down"
        elif self.state == "down" and now >= self.at + self.seconds:
            self.simulator.set_mode("normal")
            with self.timeline.lock:
                self.timeline.outages[-1][1] = now
            self.state = "over"
            self.stop_event.set()
        return True

    def stop(self, wait=10):
        super().stop(wait)
        if self.state == "down":  # the run ended first: the carrier comes back
            self.simulator.set_mode("normal")
            with self.timeline.lock:
                self.timeline.outages[-1][1] = self.timeline.now()
            self.state = "over"
