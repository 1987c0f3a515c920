"""Stripe events to what the core importers take, as plain functions.

An event is ``{"id": "evt_...", "type": ..., "created": <unix>, "api_version",
"data": {"object": {...}}}``; its object is rendered in the API version the
webhook endpoint is pinned to (see the backend's *Stripe API Version*). Only
fields that have kept their shape across the dated versions since 2022-11-15
are read: ``charge.refunded`` lost its refund list in that version, so refunds
are read from the refund objects (``refund.*`` events).

Amounts are integers of Stripe's minor units, converted with
:mod:`.currency` (Stripe's own table). A field the mapping needs and the
object lacks raises :class:`MissingField` naming its path
(``data.object.amount``); the handler turns it into a dead message.

What a payment pays, from the object's ``metadata`` first:

* ``odoo_invoice``: the invoice's number or payment reference
  (``match.invoice_reference``);
* ``odoo_order``: the Odoo sale order's number (``match.sale_order_name``);
* ``shopify_order`` / ``order_name``: the Shopify order's name, ``#1001``
  (``match.order_name``: the ``client_order_ref`` of the imported order);
* else the receipt or billing email and the description, for the matching
  rules; with none of these, ``match.by_hand``.

No ORM: unit-tested without a database.
"""

from datetime import UTC, datetime

from . import currency as stripe_currency

PAYMENT_TOPICS = ("payment_intent.succeeded", "charge.succeeded")
REFUND_TOPICS = ("refund.created", "refund.updated", "refund.failed")
DISPUTE_TOPICS = (
    "charge.dispute.created",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
)
PAYOUT_TOPICS = ("payout.paid", "payout.failed")
INVOICE_KEYS = ("odoo_invoice",)
SALE_ORDER_KEYS = ("odoo_order",)
SHOPIFY_ORDER_KEYS = ("shopify_order", "order_name")


class MissingField(KeyError):
    """A field the mapping needs is absent or null; ``path`` says which."""

    def __init__(self, path):
        super().__init__(path)
        self.path = path

    def __str__(self):
        return f"missing {self.path}"


def get(node, path, required=True, root="data.object"):
    """The value at dotted ``path`` under ``node`` (the event's object).

    :raises MissingField: ``required`` and the value is absent or null
    """
    value = node
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            if required:
                raise MissingField(f"{root}.{path}")
            return None
    return value


def event_object(event):
    """The event's ``data.object``.

    :raises MissingField: the event has no object
    """
    if not isinstance(event, dict):
        raise TypeError("a Stripe event is a JSON object")
    obj = get(event, "data.object", root="$")
    if not isinstance(obj, dict):
        raise TypeError("data.object is not an object")
    return obj


def object_id(value):
    """Id of an object that is either expanded (a dict) or an id string."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def event_time(event):
    """Naive UTC datetime of the event's ``created``, or None."""
    created = event.get("created") if isinstance(event, dict) else None
    if isinstance(created, bool) or not isinstance(created, int):
        return None
    try:
        return datetime.fromtimestamp(created, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def iso_time(seconds):
    """Canonical time (``2026-03-14T09:26:50Z``) of Unix ``seconds``, or None."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payment_intent_id(obj):
    """The PaymentIntent an object belongs to (itself for a PaymentIntent)."""
    if obj.get("object") == "payment_intent":
        return obj.get("id")
    return object_id(obj.get("payment_intent"))


def sequence_key(event):
    """The PaymentIntent id, or the charge id when there is none."""
    obj = event_object(event)
    intent = payment_intent_id(obj)
    if intent:
        return str(intent)
    charge = (
        obj.get("id") if obj.get("object") == "charge" else object_id(obj.get("charge"))
    )
    return str(charge) if charge else None


def money(obj, path, code):
    """Canonical money string of the integer amount at ``path``."""
    return stripe_currency.to_money(get(obj, path), code)


def currency_code(obj):
    return str(get(obj, "currency")).upper()


def _first(metadata, keys):
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def payment_match(obj, charge=None):
    """The canonical ``match`` keys of a PaymentIntent or charge."""
    metadata = dict((charge or {}).get("metadata") or {})
    metadata.update(obj.get("metadata") or {})
    match = {}
    for field, keys in (
        ("invoice_reference", INVOICE_KEYS),
        ("sale_order_name", SALE_ORDER_KEYS),
        ("order_name", SHOPIFY_ORDER_KEYS),
    ):
        value = _first(metadata, keys)
        if value:
            match[field] = value
    email = (
        obj.get("receipt_email")
        or get(charge or obj, "billing_details.email", required=False)
        or (charge or {}).get("receipt_email")
    )
    if email:
        match["customer_email"] = email
    description = obj.get("description") or (charge or {}).get("description")
    if description:
        match["description"] = description
    if not match:
        match["by_hand"] = True
    return match


def to_canonical_payment(event):
    """Canonical ``payment`` of ``payment_intent.succeeded`` or of
    ``charge.succeeded`` (a charge without PaymentIntent).

    ``extra`` keeps what the fee booking needs: ``charge`` and, when the event
    carries it, ``balance_transaction``.
    """
    obj = event_object(event)
    code = currency_code(obj)
    if obj.get("object") == "payment_intent":
        charge = obj.get("latest_charge")
        charge = charge if isinstance(charge, dict) else {"id": charge}
        amount_path = "amount_received"
    else:
        charge, amount_path = (
            obj,
            "amount_captured" if obj.get("captured") else "amount",
        )
    document = {
        "external_id": str(get(obj, "id")),
        "channel": "stripe",
        "amount": money(obj, amount_path, code),
        "currency": code,
        "gateway": "stripe",
        "match": payment_match(obj, charge if charge is not obj else None),
        "extra": {
            "charge": object_id(charge.get("id")),
            "balance_transaction": object_id(charge.get("balance_transaction")),
            "livemode": bool(event.get("livemode")),
        },
    }
    paid_at = iso_time(obj.get("created"))
    if paid_at:
        document["paid_at"] = paid_at
    if charge.get("id"):
        document["reference"] = str(charge["id"])
    return document


def refund_values(event):
    """What the payment refund importer takes from a refund object."""
    obj = event_object(event)
    code = currency_code(obj)
    payment = payment_intent_id(obj) or object_id(get(obj, "charge"))
    return {
        "external_id": str(get(obj, "id")),
        "payment_external_id": str(payment),
        "amount": money(obj, "amount", code),
        "currency": code,
        "status": get(obj, "status"),
        "reason": obj.get("reason") or None,
        "created_at": iso_time(obj.get("created")),
        "balance_transaction": object_id(obj.get("balance_transaction")),
        "channel": "stripe",
    }


def balance_transaction_values(txn):
    """Plain values of a balance transaction (``txn_...``)."""
    code = str(get(txn, "currency", root="balance_transaction")).upper()
    return {
        "id": str(get(txn, "id", root="balance_transaction")),
        "type": txn.get("type") or "",
        "reporting_category": txn.get("reporting_category") or "",
        "source": object_id(txn.get("source")),
        "currency": code,
        "amount": stripe_currency.from_minor(
            get(txn, "amount", root="balance_transaction"), code
        ),
        "fee": stripe_currency.from_minor(txn.get("fee") or 0, code),
        "net": stripe_currency.from_minor(
            get(txn, "net", root="balance_transaction"), code
        ),
        "description": txn.get("description") or "",
    }


def dispute_values(event):
    """What the dispute booking takes from a dispute object: its balance
    transactions (funds withdrawn, reinstated) and its status, so that any
    event of the dispute, the latest especially, books all that happened."""
    obj = event_object(event)
    code = currency_code(obj)
    payment = payment_intent_id(obj) or object_id(get(obj, "charge"))
    return {
        "external_id": str(get(obj, "id")),
        "payment_external_id": str(payment),
        "charge": object_id(obj.get("charge")),
        "amount": stripe_currency.from_minor(get(obj, "amount"), code),
        "currency": code,
        "status": get(obj, "status"),
        "reason": obj.get("reason") or "",
        "balance_transactions": [
            balance_transaction_values(txn)
            for txn in obj.get("balance_transactions") or ()
        ],
    }


def payout_values(event):
    """What the payout booking takes from a payout object."""
    obj = event_object(event)
    code = currency_code(obj)
    return {
        "external_id": str(get(obj, "id")),
        "amount": stripe_currency.from_minor(get(obj, "amount"), code),
        "currency": code,
        "status": get(obj, "status"),
        "arrival_date": iso_time(obj.get("arrival_date")),
        "failure_message": obj.get("failure_message") or "",
    }


def odoo_transaction_refs(event):
    """``(payment intent id, description)`` Odoo's ``payment_stripe`` would
    know a PaymentIntent by (its ``provider_reference`` and ``reference``)."""
    obj = event_object(event)
    intent = payment_intent_id(obj)
    description = (
        obj.get("description")
        if obj.get("object")
        in (
            "payment_intent",
            "charge",
        )
        else None
    )
    return intent, description, obj.get("id")


def stripe_error_message(body):
    """Stripe's ``{"error": {"type", "code", "message"}}`` as one line."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    parts = [error.get("type"), error.get("code")]
    label = "/".join(str(part) for part in parts if part)
    return f"{label}: {error.get('message') or ''}".strip(": ")
