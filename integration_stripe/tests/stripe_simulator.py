"""A local stand-in for Stripe, for tests, benchmarks and the demo.

* :class:`StripeSimulator`: Stripe's API on 127.0.0.1 (port 0), on
  ``integration_core/tests/http_server.py``: ``GET /v1/balance``,
  ``GET /v1/charges/{id}``, ``GET /v1/events`` (the events :meth:`event`
  rendered, newest first: ``created[gte|gt|lte|lt]``, ``type``, ``types[]``),
  ``GET /v1/balance_transactions`` (``payout`` filter; lists take ``limit``
  and ``starting_after`` and answer ``has_more``), ``GET
  /v1/balance_transactions/{id}`` (404 while :meth:`hold_balance_transactions`
  holds them: "not yet available"), ``POST /v1/refunds`` (form-encoded, with
  Stripe's idempotency: the same ``Idempotency-Key`` and body replay the first
  answer, the same key with another body is a 400), 429 with
  ``Retry-After`` on demand (:meth:`throttle`) and an outage (503 to every
  call between :meth:`go_down` and :meth:`come_back`). It creates the objects
  (PaymentIntents, charges, refunds, disputes, payouts and their balance
  transactions) and renders their events.
* :class:`WebhookSender`: posts events signed like Stripe (one ``v1`` per
  secret during a rotation), with knobs for duplicates, reordering and delay.

Both keep a ledger: ``simulator.server.requests`` (every call received) and
``sender.sent`` (every delivery and its status). Plain Python (no Odoo
import): scripts use it outside a test run.
"""

import copy
import hashlib
import hmac
import itertools
import json
import os
import random
import threading
import time
from decimal import Decimal
from fnmatch import fnmatchcase
from urllib.parse import parse_qs, urlsplit

import requests

try:  # as odoo.addons.integration_stripe.tests.stripe_simulator
    from odoo.addons.integration_core.tests.http_server import (
        LocalHttpServer,
        Recorded,
        Reply,
    )
except ImportError:  # a plain script with integration_core/tests on its path
    from http_server import LocalHttpServer, Recorded, Reply

API_VERSION = "2024-06-20"
ZERO_DECIMAL = set(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = set("BHD JOD KWD OMR TND".split())
_counter = itertools.count(int(time.time() * 1000) % 10**9)


def new_id(prefix):
    return f"{prefix}_{next(_counter):012d}{os.urandom(4).hex()}"


def minor(amount, currency):
    """Stripe's integer amount of a decimal ``amount`` (string or number)."""
    code = currency.upper()
    exponent = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return int(Decimal(str(amount)).scaleb(exponent))


def sign(secrets, body, timestamp=None):
    """``Stripe-Signature`` of ``body``: ``t=...`` and one ``v1`` per secret."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    parts = [f"t={timestamp}"]
    for secret in secrets:
        digest = hmac.new(
            secret.encode(), b"%d." % timestamp + body, hashlib.sha256
        ).hexdigest()
        parts.append(f"v1={digest}")
    return ",".join(parts)


__all__ = ["Recorded", "Reply", "StripeSimulator", "WebhookSender", "sign"]


def stripe_error(status, kind, message, code=None):
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return Reply(status, {"error": error}, headers={"Request-Id": new_id("req")})


class StripeSimulator:
    """Stripe's objects and API; ``fee_percent`` and ``fee_fixed`` (minor units)
    make each charge's fee, as Stripe's standard pricing does."""

    def __init__(self, api_key="sk_test_simulator", fee_percent="2.9", fee_fixed=30):
        self.api_key = api_key
        self.fee_percent = Decimal(fee_percent)
        self.fee_fixed = fee_fixed
        self.lock = threading.RLock()
        self.payment_intents = {}
        self.charges = {}
        self.refunds = {}
        self.disputes = {}
        self.payouts = {}
        self.balance_transactions = {}
        self.held_transactions = set()
        self.idempotency = {}
        self.events = []
        self.throttled = 0
        self.down = False
        self.server = LocalHttpServer(responder=self._respond)
        self.clock = int(time.time())

    # -- life cycle ----------------------------------------------------------------
    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return self.server.url

    @property
    def requests(self):
        """Ledger of the calls received (``Recorded`` tuples)."""
        return self.server.requests

    def tick(self, seconds=1):
        """Stripe's clock, moved on so that events of one object get later times."""
        self.clock += seconds
        return self.clock

    # -- knobs ---------------------------------------------------------------------
    def hold_balance_transactions(self, *txn_ids):
        """Answer 404 for these balance transactions (all new ones when none is
        given) until :meth:`release_balance_transactions`."""
        with self.lock:
            self.held_transactions.update(txn_ids or {"*"})

    def release_balance_transactions(self):
        with self.lock:
            self.held_transactions.clear()

    def throttle(self, count=1, retry_after=1):
        """The next ``count`` calls get 429 with ``Retry-After``."""
        self.server.script(
            *[
                stripe_error(
                    429, "invalid_request_error", "Too many requests", "rate_limit"
                )
                for _i in range(count)
            ]
        )
        for reply in list(self.server.replies)[-count:]:
            reply.headers["Retry-After"] = str(retry_after)
        self.throttled += count

    def go_down(self):
        """Answer 503 to every API call (recorded) until :meth:`come_back`."""
        self.down = True

    def come_back(self):
        self.down = False

    # -- objects -------------------------------------------------------------------
    def _balance_transaction(self, source, amount, fee, currency, kind, category):
        txn = {
            "id": new_id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": currency,
            "type": kind,
            "reporting_category": category,
            "source": source,
            "status": "available",
            "created": self.tick(0),
            "available_on": self.clock,
            "description": None,
            "fee_details": [{"amount": fee, "currency": currency, "type": "stripe_fee"}]
            if fee
            else [],
            "payout": None,
        }
        self.balance_transactions[txn["id"]] = txn
        if "*" in self.held_transactions:
            self.held_transactions.add(txn["id"])
        return txn

    def fee_of(self, amount):
        return int(
            (Decimal(amount) * self.fee_percent / 100).to_integral_value()
            + self.fee_fixed
        )

    def create_payment(
        self,
        amount,
        currency="usd",
        metadata=None,
        description=None,
        email=None,
        with_intent=True,
    ):
        """A succeeded PaymentIntent with its charge and balance transaction.

        :param amount: decimal amount (``"58.00"``), converted to minor units
        :returns: the PaymentIntent (or the charge when ``with_intent`` is False)
        """
        with self.lock:
            units = minor(amount, currency)
            created = self.tick()
            charge = {
                "id": new_id("ch"),
                "object": "charge",
                "amount": units,
                "amount_captured": units,
                "amount_refunded": 0,
                "captured": True,
                "currency": currency.lower(),
                "created": created,
                "description": description,
                "metadata": dict(metadata or {}),
                "billing_details": {"email": email, "name": None},
                "receipt_email": email,
                "paid": True,
                "refunded": False,
                "status": "succeeded",
                "payment_intent": None,
                "balance_transaction": None,
            }
            txn = self._balance_transaction(
                charge["id"],
                units,
                self.fee_of(units),
                charge["currency"],
                "charge",
                "charge",
            )
            charge["balance_transaction"] = txn["id"]
            self.charges[charge["id"]] = charge
            if not with_intent:
                return copy.deepcopy(charge)
            intent = {
                "id": new_id("pi"),
                "object": "payment_intent",
                "amount": units,
                "amount_received": units,
                "currency": charge["currency"],
                "created": created,
                "description": description,
                "metadata": dict(metadata or {}),
                "receipt_email": email,
                "status": "succeeded",
                "latest_charge": charge["id"],
                "livemode": False,
            }
            charge["payment_intent"] = intent["id"]
            self.payment_intents[intent["id"]] = intent
            return copy.deepcopy(intent)

    def charge_of(self, payment):
        charge_id = payment.get("latest_charge") or payment["id"]
        return self.charges[charge_id]

    def create_refund(
        self, payment, amount=None, status="succeeded", metadata=None, units=None
    ):
        """A refund of a PaymentIntent or charge (all of it by default), with
        its balance transaction; ``units``: the amount in minor units."""
        with self.lock:
            charge = self.charge_of(payment)
            if units is None:
                units = (
                    charge["amount"]
                    if amount is None
                    else minor(amount, charge["currency"])
                )
            refund = {
                "id": new_id("re"),
                "object": "refund",
                "amount": units,
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "created": self.tick(),
                "status": status,
                "reason": "requested_by_customer",
                "metadata": dict(metadata or {}),
                "balance_transaction": None,
            }
            if status in ("succeeded", "pending"):
                txn = self._balance_transaction(
                    refund["id"], -units, 0, charge["currency"], "refund", "refund"
                )
                refund["balance_transaction"] = txn["id"]
            charge["amount_refunded"] += units
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self.refunds[refund["id"]] = refund
            return copy.deepcopy(refund)

    def update_refund(self, refund_id, status):
        with self.lock:
            refund = self.refunds[refund_id]
            refund["status"] = status
            self.tick()
            return copy.deepcopy(refund)

    def create_dispute(self, payment, reason="fraudulent", fee=1500):
        with self.lock:
            charge = self.charge_of(payment)
            dispute = {
                "id": new_id("dp"),
                "object": "dispute",
                "amount": charge["amount"],
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "created": self.tick(),
                "reason": reason,
                "status": "needs_response",
                "balance_transactions": [],
                "_fee": fee,
            }
            self.disputes[dispute["id"]] = dispute
            return self._public(dispute)

    def withdraw_dispute_funds(self, dispute_id):
        with self.lock:
            dispute = self.disputes[dispute_id]
            txn = self._balance_transaction(
                dispute["id"],
                -dispute["amount"],
                dispute["_fee"],
                dispute["currency"],
                "adjustment",
                "dispute",
            )
            dispute["balance_transactions"].append(copy.deepcopy(txn))
            dispute["status"] = "under_review"
            self.tick()
            return self._public(dispute)

    def close_dispute(self, dispute_id, won):
        """Closed won (funds reinstated, the fee kept by Stripe) or lost."""
        with self.lock:
            dispute = self.disputes[dispute_id]
            if won:
                txn = self._balance_transaction(
                    dispute["id"],
                    dispute["amount"],
                    0,
                    dispute["currency"],
                    "adjustment",
                    "dispute_reversal",
                )
                dispute["balance_transactions"].append(copy.deepcopy(txn))
            dispute["status"] = "won" if won else "lost"
            self.tick()
            return self._public(dispute)

    def create_payout(self, txn_ids=None, status="paid"):
        """A payout of the given balance transactions (default: all not paid out)."""
        with self.lock:
            txns = [
                txn
                for txn in self.balance_transactions.values()
                if txn["payout"] is None
                and txn["type"] != "payout"
                and (txn_ids is None or txn["id"] in txn_ids)
            ]
            currency = txns[0]["currency"] if txns else "usd"
            amount = sum(txn["net"] for txn in txns)
            payout = {
                "id": new_id("po"),
                "object": "payout",
                "amount": amount,
                "currency": currency,
                "arrival_date": self.tick(),
                "created": self.clock,
                "status": status,
                "failure_message": None,
                "balance_transaction": None,
            }
            own = self._balance_transaction(
                payout["id"], -amount, 0, currency, "payout", "payout"
            )
            payout["balance_transaction"] = own["id"]
            for txn in txns + [own]:
                txn["payout"] = payout["id"]
            self.payouts[payout["id"]] = payout
            return copy.deepcopy(payout)

    def fail_payout(self, payout_id, message="The bank account was closed."):
        with self.lock:
            payout = self.payouts[payout_id]
            payout.update(status="failed", failure_message=message)
            self.tick()
            return copy.deepcopy(payout)

    @staticmethod
    def _public(obj):
        return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}

    # -- events --------------------------------------------------------------------
    def event(self, event_type, obj, created=None):
        """The event Stripe sends for ``obj`` (a snapshot of it now), kept for
        ``GET /v1/events``."""
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created if created is not None else self.clock,
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": new_id("req"), "idempotency_key": None},
            "data": {"object": copy.deepcopy(obj)},
        }
        with self.lock:
            self.events.append(event)
        return copy.deepcopy(event)

    # -- API -----------------------------------------------------------------------
    def _respond(self, request):
        if self.down:
            return stripe_error(503, "api_error", "Stripe is unavailable")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return stripe_error(
                401, "invalid_request_error", "Invalid API Key provided: sk_***"
            )
        parts = urlsplit(request.path)
        lists = parse_qs(parts.query)
        query = {k: v[-1] for k, v in lists.items()}
        path = parts.path.rstrip("/")
        with self.lock:
            if request.method == "GET" and path == "/v1/balance":
                return Reply(200, self._balance())
            if request.method == "GET" and path == "/v1/events":
                return self._list_events(query, lists.get("types[]"))
            if request.method == "GET" and path == "/v1/balance_transactions":
                return self._list_transactions(query)
            if request.method == "GET" and path.startswith("/v1/balance_transactions/"):
                txn_id = path.rsplit("/", 1)[1]
                txn = self.balance_transactions.get(txn_id)
                if not txn or txn_id in self.held_transactions:
                    return stripe_error(
                        404,
                        "invalid_request_error",
                        f"No such balance transaction: '{txn_id}'",
                        "resource_missing",
                    )
                return Reply(200, copy.deepcopy(txn))
            if request.method == "GET" and path.startswith("/v1/charges/"):
                charge = self.charges.get(path.rsplit("/", 1)[1])
                if not charge:
                    return stripe_error(
                        404,
                        "invalid_request_error",
                        "No such charge",
                        "resource_missing",
                    )
                return Reply(200, copy.deepcopy(charge))
            if request.method == "POST" and path == "/v1/refunds":
                return self._post_refund(request)
        return stripe_error(
            404, "invalid_request_error", f"Unrecognized request URL ({path})"
        )

    def _balance(self):
        available = {}
        for txn in self.balance_transactions.values():
            available[txn["currency"]] = available.get(txn["currency"], 0) + txn["net"]
        return {
            "object": "balance",
            "available": [{"amount": v, "currency": k} for k, v in available.items()],
            "pending": [],
        }

    def _list_transactions(self, query):
        txns = sorted(
            self.balance_transactions.values(), key=lambda t: t["id"], reverse=True
        )
        if query.get("payout"):
            txns = [t for t in txns if t["payout"] == query["payout"]]
        return self._list_page("/v1/balance_transactions", txns, query)

    def _list_events(self, query, types=None):
        """Stripe's event list: newest first, ``created[gte|gt|lte|lt]``,
        ``type`` (a ``*`` wildcard allowed) or ``types[]`` (at most 20),
        ``limit`` (1 to 100, default 10), ``starting_after``."""
        if types and len(types) > 20:
            return stripe_error(
                400, "invalid_request_error", "types: at most 20 event types"
            )
        bounds = {
            op: int(query[f"created[{op}]"])
            for op in ("gte", "gt", "lte", "lt")
            if f"created[{op}]" in query
        }
        compare = {
            "gte": lambda c, v: c >= v,
            "gt": lambda c, v: c > v,
            "lte": lambda c, v: c <= v,
            "lt": lambda c, v: c < v,
        }
        wanted = query.get("type")
        events = [
            event
            for event in self.events
            if all(compare[op](event["created"], v) for op, v in bounds.items())
            and (not types or event["type"] in types)
            and (not wanted or fnmatchcase(event["type"], wanted))
        ]
        # newest first; events of one second in the reverse of their creation
        events.sort(key=lambda event: event["created"])
        events.reverse()
        return self._list_page("/v1/events", events, query)

    def _list_page(self, url, items, query):
        """One page of ``items`` (already in list order) after ``starting_after``."""
        limit = max(1, min(int(query.get("limit", 10)), 100))
        if query.get("starting_after"):
            ids = [item["id"] for item in items]
            if query["starting_after"] not in ids:
                return stripe_error(
                    400,
                    "invalid_request_error",
                    "Invalid starting_after",
                    "resource_missing",
                )
            items = items[ids.index(query["starting_after"]) + 1 :]
        return Reply(
            200,
            {
                "object": "list",
                "url": url,
                "has_more": len(items) > limit,
                "data": copy.deepcopy(items[:limit]),
            },
        )

    def _post_refund(self, request):
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotency:
            body, reply = self.idempotency[key]
            if body != request.body:
                return stripe_error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with.",
                )
            return Reply(
                reply.status, reply.body, headers={"Idempotent-Replayed": "true"}
            )
        reply = self._create_refund_from_form(form)
        if key:
            self.idempotency[key] = (request.body, reply)
        return reply

    def _create_refund_from_form(self, form):
        payment = None
        if form.get("payment_intent"):
            payment = self.payment_intents.get(form["payment_intent"])
        elif form.get("charge"):
            payment = self.charges.get(form["charge"])
        if payment is None:
            return stripe_error(
                400,
                "invalid_request_error",
                "No such payment_intent or charge",
                "resource_missing",
            )
        charge = self.charge_of(payment)
        amount = int(form.get("amount") or charge["amount"] - charge["amount_refunded"])
        if amount > charge["amount"] - charge["amount_refunded"]:
            return stripe_error(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge",
                "amount_too_large",
            )
        metadata = {
            key[len("metadata[") : -1]: value
            for key, value in form.items()
            if key.startswith("metadata[")
        }
        refund = self.create_refund(
            payment, status="succeeded", metadata=metadata, units=amount
        )
        return Reply(200, refund)


class WebhookSender:
    """Deliver events to ``url`` like Stripe does.

    :param secrets: the endpoint secrets; during a rotation Stripe signs with
        each and sends one ``v1`` per secret
    :param duplicates: probability that a delivery is sent twice
    :param reorder: shuffle deliveries within windows of this many
    :param delay: seconds to sleep before each delivery
    """

    def __init__(
        self,
        url,
        secrets,
        duplicates=0.0,
        reorder=0,
        delay=0.0,
        seed=7,
        timeout=30,
        session=None,
    ):
        self.url = url
        self.secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        self.duplicates, self.reorder, self.delay = duplicates, reorder, delay
        self.random = random.Random(seed)
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sent = []

    def build(self, event, timestamp=None):
        """``(body, headers)`` of one delivery."""
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(self.secrets, body, timestamp),
        }
        return body, headers

    def post(self, body, headers):
        response = self.session.post(
            self.url, data=body, headers=headers, timeout=self.timeout
        )
        try:
            event_id = json.loads(body).get("id")
        except ValueError:
            event_id = None  # a malformed body sent on purpose
        self.sent.append((event_id, response.status_code))
        return response

    def send(self, event, **kwargs):
        return self.post(*self.build(event, **kwargs))

    def shuffled(self, events):
        """``events`` in delivery order after the duplicate and reorder knobs."""
        events = list(events)
        if self.reorder > 1:
            for start in range(0, len(events), self.reorder):
                window = events[start : start + self.reorder]
                self.random.shuffle(window)
                events[start : start + self.reorder] = window
        out = []
        for event in events:
            out.append(event)
            if self.random.random() < self.duplicates:
                out.append(event)
        return out

    def send_many(self, events):
        statuses = []
        for event in self.shuffled(events):
            if self.delay:
                time.sleep(self.delay)
            statuses.append(self.send(event).status_code)
        return statuses
