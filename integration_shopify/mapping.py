"""Shopify payloads to plain Python values, without the ORM.

Shopify sends money as decimal strings ("19.99") in the shop or presentment
currency, dates as ISO 8601 with an offset and discounts as allocations per line.
These helpers turn a webhook or REST payload into normalised dicts the importer
writes to Odoo; they are unit-tested without a database.
"""

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from odoo.addons.integration_core.intake_rules import utc_naive

# restock types of refund line items that put goods back in stock
RESTOCK_TYPES = ("return", "legacy_restock")


# -- scalars -------------------------------------------------------------------
def to_decimal(value):
    """Decimal of a Shopify money string or number; ``None`` and "" are zero."""
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as err:
        raise ValueError(f"not a decimal amount: {value!r}") from err


def money(value, digits=2):
    """A Shopify amount rounded half-up to ``digits`` decimals, as a float."""
    quantum = Decimal(1).scaleb(-digits)
    return float(to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))


def parse_datetime(value):
    """Naive UTC datetime (Odoo's convention) of an ISO 8601 string, or None.

    :raises ValueError: not ISO 8601, or its UTC value is outside years 1-9999
    """
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
    utc = utc_naive(parsed)
    if utc is None:
        raise ValueError(f"time out of range: {value!r}")
    return utc.replace(microsecond=0)


def format_datetime(value):
    """ISO 8601 UTC string of a naive UTC datetime, as Shopify query params want."""
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def order_sequence_key(order_id):
    return f"order:{order_id}"


def reconcile_idempotency_key(order):
    """Key of a reconciliation-pulled order: one per order version."""
    return f"order:{order['id']}:{order.get('updated_at') or ''}"


# -- addresses and customers ---------------------------------------------------
def _clean(value):
    return (value or "").strip() if isinstance(value, str) else value or ""


def normalize_address(address, email=None):
    """Partner-like dict of a Shopify address, or None when it is empty."""
    if not address:
        return None
    name = _clean(address.get("name")) or " ".join(
        part
        for part in (
            _clean(address.get("first_name")),
            _clean(address.get("last_name")),
        )
        if part
    )
    result = {
        "name": name or _clean(address.get("company")),
        "company": _clean(address.get("company")),
        "street": _clean(address.get("address1")),
        "street2": _clean(address.get("address2")),
        "city": _clean(address.get("city")),
        "zip": _clean(address.get("zip")),
        "state_code": _clean(address.get("province_code")),
        "country_code": _clean(address.get("country_code")).upper(),
        "phone": _clean(address.get("phone")),
        "email": _clean(email),
    }
    if not any(result[key] for key in ("name", "street", "city", "zip")):
        return None
    return result


def normalize_customer(order):
    """The buyer: Shopify customer, else the checkout's contact; ``guest`` when
    the order has no customer account."""
    customer = order.get("customer") or {}
    billing = order.get("billing_address") or {}
    shipping = order.get("shipping_address") or {}
    email = _clean(
        order.get("email") or order.get("contact_email") or customer.get("email")
    )
    phone = _clean(
        order.get("phone")
        or customer.get("phone")
        or billing.get("phone")
        or shipping.get("phone")
    )
    name = " ".join(
        part
        for part in (
            _clean(customer.get("first_name")),
            _clean(customer.get("last_name")),
        )
        if part
    )
    if not name:
        fallback = normalize_address(billing) or normalize_address(shipping) or {}
        name = fallback.get("name") or email or phone or ""
    return {
        "shopify_id": str(customer["id"]) if customer.get("id") else None,
        "name": name,
        "email": email,
        "phone": phone,
        "guest": not customer.get("id"),
    }


# -- canonical documents -------------------------------------------------------
# payment statuses of the canonical order; Shopify's others have no equivalent
PAYMENT_STATUSES = {
    "pending": "pending",
    "authorized": "authorized",
    "partially_paid": "partially_paid",
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "voided": "voided",
    "expired": "voided",
    "unpaid": "unpaid",
}
TRANSACTION_STATUSES = ("success", "pending", "failure", "error")


def money_text(value):
    """A Shopify amount as a canonical decimal string ("19.99")."""
    return format(to_decimal(value), "f")


def _optional(value):
    value = _clean(value)
    return value if value not in ("", None) else None


def _time_text(value):
    """A Shopify time as it is (ISO 8601 with an offset), checked readable."""
    if not value:
        return None
    parse_datetime(value)
    return str(value).strip()


def _allocated(item):
    return sum(
        (to_decimal(a.get("amount")) for a in item.get("discount_allocations") or ()),
        Decimal(0),
    )


def _taxes(item):
    taxes = []
    for tax in item.get("tax_lines") or ():
        rate = (to_decimal(tax.get("rate")) * 100).quantize(Decimal("0.0001"))
        value = {
            "name": _clean(tax.get("title")),
            "rate": format(rate.normalize(), "f"),
        }
        if tax.get("price") not in (None, ""):
            value["amount"] = money_text(tax["price"])
        taxes.append(value)
    return taxes


def _address(address, email=None):
    address = normalize_address(address, email)
    return (
        {key: _optional(value) for key, value in address.items()} if address else None
    )


def _line(item):
    quantity = to_decimal(item.get("quantity"))
    discount = _allocated(item)
    if not discount and item.get("total_discount"):
        discount = to_decimal(item.get("total_discount"))
    return {
        "external_id": str(item.get("id")),
        "sku": _optional(item.get("sku")),
        "name": _clean(item.get("name") or item.get("title")),
        "variant_id": str(item["variant_id"]) if item.get("variant_id") else None,
        "product_id": str(item["product_id"]) if item.get("product_id") else None,
        "quantity": int(quantity)
        if quantity == quantity.to_integral()
        else float(quantity),
        "unit_price": money_text(item.get("price")),
        "discount_amount": money_text(discount),
        "taxes": _taxes(item) if item.get("taxable", True) else [],
        "requires_shipping": bool(item.get("requires_shipping", True)),
    }


def _shipping_line(item):
    price = to_decimal(item.get("price"))
    discounted = (
        to_decimal(item["discounted_price"])
        if item.get("discounted_price") not in (None, "")
        else price - _allocated(item)
    )
    return {
        "external_id": str(item.get("id")),
        "name": _clean(item.get("title")) or _clean(item.get("code")) or "Shipping",
        "code": _optional(item.get("code")),
        "price": format(discounted, "f"),
        "taxes": _taxes(item),
    }


def to_canonical_order(order):
    """The canonical ``order`` document of a Shopify order payload.

    :raises ValueError: the payload is not an order Shopify would send
    """
    if not order.get("id"):
        raise ValueError("order payload without id")
    email = order.get("email") or order.get("contact_email")
    customer = normalize_customer(order)
    totals = {"total": money_text(order.get("total_price"))}
    for key, field in (("subtotal", "subtotal_price"), ("tax", "total_tax")):
        if order.get(field) not in (None, ""):
            totals[key] = money_text(order[field])
    status = PAYMENT_STATUSES.get(_clean(order.get("financial_status")))
    return {
        "schema_version": "1.0",
        "external_id": str(order["id"]),
        "name": _clean(order.get("name"))
        or f"#{order.get('order_number') or order['id']}",
        "channel": "shopify",
        "currency": _clean(
            order.get("currency") or order.get("presentment_currency")
        ).upper(),
        "created_at": _time_text(order.get("created_at")),
        "updated_at": _time_text(order.get("updated_at") or order.get("created_at")),
        "taxes_included": bool(order.get("taxes_included")),
        "customer": {
            "external_id": customer["shopify_id"],
            "name": _optional(customer["name"]),
            "email": _optional(customer["email"]),
            "phone": _optional(customer["phone"]),
            "guest": customer["guest"],
        },
        "billing_address": _address(order.get("billing_address"), email),
        "shipping_address": _address(order.get("shipping_address"), email),
        "lines": [_line(item) for item in order.get("line_items") or ()],
        "shipping_lines": [
            _shipping_line(item) for item in order.get("shipping_lines") or ()
        ],
        "totals": totals,
        "payment": dict(
            {"status": status} if status else {},
            gateways=list(order.get("payment_gateway_names") or ()),
        ),
        "location": str(order["location_id"]) if order.get("location_id") else None,
        "note": _optional(order.get("note")),
    }


def to_canonical_cancellation(order):
    """The ``order.cancellation`` document of a cancelled order, or None."""
    if not order.get("cancelled_at"):
        return None
    return {
        "schema_version": "1.0",
        "external_id": str(order["id"]),
        "name": _clean(order.get("name")) or str(order["id"]),
        "channel": "shopify",
        "cancelled_at": _time_text(order["cancelled_at"]),
        "reason": _optional(order.get("cancel_reason")),
    }


def to_canonical_refund(refund):
    """The canonical ``refund`` document of a ``refunds/create`` payload.

    :raises ValueError: the payload is not a refund Shopify would send
    """
    if not refund.get("id") or not refund.get("order_id"):
        raise ValueError("refund payload without id or order_id")
    lines = []
    for item in refund.get("refund_line_items") or ():
        restock_type = _clean(item.get("restock_type")) or (
            "legacy_restock" if refund.get("restock") else "no_restock"
        )
        quantity = to_decimal(item.get("quantity"))
        lines.append(
            {
                "line_external_id": str(
                    item.get("line_item_id") or (item.get("line_item") or {}).get("id")
                ),
                "quantity": int(quantity)
                if quantity == quantity.to_integral()
                else float(quantity),
                "restock": restock_type in RESTOCK_TYPES,
            }
        )
    shipping = Decimal(0)
    for adjustment in refund.get("order_adjustments") or ():
        if adjustment.get("kind") == "shipping_refund":
            # Shopify reports refunded amounts as negative adjustments
            shipping += abs(to_decimal(adjustment.get("amount")))
    for item in refund.get("refund_shipping_lines") or ():
        shipping += abs(
            to_decimal(
                (item.get("subtotal_amount_set") or {})
                .get("shop_money", {})
                .get("amount")
                or item.get("amount")
            )
        )
    transactions = []
    for transaction in refund.get("transactions") or ():
        status = _clean(transaction.get("status"))
        value = {
            "kind": _clean(transaction.get("kind")) or "refund",
            "gateway": _clean(transaction.get("gateway")),
            "amount": money_text(transaction.get("amount")),
        }
        if status:
            value["status"] = status if status in TRANSACTION_STATUSES else "error"
        if transaction.get("id"):
            value["external_id"] = str(transaction["id"])
        transactions.append(value)
    created_at = refund.get("created_at") or refund.get("processed_at")
    document = {
        "schema_version": "1.0",
        "external_id": str(refund["id"]),
        "order_external_id": str(refund["order_id"]),
        "channel": "shopify",
        "lines": lines,
        "shipping_amount": format(shipping, "f"),
        "transactions": transactions,
        "note": _optional(refund.get("note")),
    }
    if created_at:
        document["created_at"] = _time_text(created_at)
    return document


# -- REST protocol -------------------------------------------------------------
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')


def next_page_url(link_header):
    """The ``rel="next"`` URL of a Shopify ``Link`` header, or None."""
    for url, rel in _LINK_RE.findall(link_header or ""):
        if rel == "next":
            return url
    return None


def parse_call_limit(header):
    """``(used, size)`` of an ``X-Shopify-Shop-Api-Call-Limit`` header ("32/40")."""
    if not header or "/" not in header:
        return None
    used, _sep, size = header.partition("/")
    try:
        return int(used), int(size)
    except ValueError:
        return None


def bucket_delay(used, size, leak_rate, headroom=1):
    """Seconds to wait so that the next request finds ``headroom`` free slots in
    a leaky bucket of ``size`` holding ``used`` calls, draining ``leak_rate``/s."""
    excess = used + headroom - size
    if excess <= 0 or leak_rate <= 0:
        return 0.0
    return excess / leak_rate
