"""Shopify payloads to plain Python values, without the ORM.

Shopify sends money as decimal strings ("19.99") in the shop or presentment
currency, dates as ISO 8601 with an offset and discounts as allocations per line.
These helpers turn a webhook or REST payload into normalised dicts the importer
writes to Odoo; they are unit-tested without a database.
"""

import hashlib
import json
import re
from collections import namedtuple
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from odoo.addons.integration_core.intake_rules import utc_naive

TaxKey = namedtuple("TaxKey", "title rate")

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


# -- orders --------------------------------------------------------------------
def _allocated(item):
    return sum(
        (to_decimal(a.get("amount")) for a in item.get("discount_allocations") or ()),
        Decimal(0),
    )


def _tax_keys(item):
    keys = []
    for tax in item.get("tax_lines") or ():
        rate = to_decimal(tax.get("rate"))
        keys.append(
            TaxKey(
                _clean(tax.get("title")),
                float((rate * 100).quantize(Decimal("0.0001"))),
            )
        )
    return tuple(keys)


def normalize_line(item, digits=2):
    quantity = to_decimal(item.get("quantity"))
    price = to_decimal(item.get("price"))
    discount = _allocated(item)
    if not discount and item.get("total_discount"):
        discount = to_decimal(item.get("total_discount"))
    gross = price * quantity
    return {
        "line_id": str(item.get("id")),
        "sku": _clean(item.get("sku")),
        "name": _clean(item.get("name") or item.get("title")),
        "title": _clean(item.get("title") or item.get("name")),
        "variant_id": str(item["variant_id"]) if item.get("variant_id") else None,
        "product_id": str(item["product_id"]) if item.get("product_id") else None,
        "quantity": float(quantity),
        "price_unit": money(price, digits),
        "discount_amount": money(discount, digits),
        # percent on the gross amount; Odoo rounds it to its Discount precision
        "discount_percent": float(discount / gross * 100)
        if gross and discount
        else 0.0,
        "taxes": _tax_keys(item) if item.get("taxable", True) else (),
        "requires_shipping": bool(item.get("requires_shipping", True)),
    }


def normalize_shipping(item, digits=2):
    price = to_decimal(item.get("price"))
    discounted = (
        to_decimal(item["discounted_price"])
        if item.get("discounted_price") not in (None, "")
        else price - _allocated(item)
    )
    return {
        "line_id": str(item.get("id")),
        "title": _clean(item.get("title")) or _clean(item.get("code")) or "Shipping",
        "code": _clean(item.get("code")),
        "price": money(discounted, digits),
        "taxes": _tax_keys(item),
    }


def normalize_order(order, digits=2):
    """Everything the importer needs from an order payload, normalised."""
    if not order.get("id"):
        raise ValueError("order payload without id")
    email = order.get("email") or order.get("contact_email")
    return {
        "id": str(order["id"]),
        "name": _clean(order.get("name"))
        or f"#{order.get('order_number') or order['id']}",
        "currency": _clean(
            order.get("currency") or order.get("presentment_currency")
        ).upper(),
        "created_at": parse_datetime(order.get("created_at")),
        "updated_at": parse_datetime(
            order.get("updated_at") or order.get("created_at")
        ),
        "cancelled_at": parse_datetime(order.get("cancelled_at")),
        "cancel_reason": _clean(order.get("cancel_reason")),
        "financial_status": _clean(order.get("financial_status")),
        "fulfillment_status": _clean(order.get("fulfillment_status")),
        "taxes_included": bool(order.get("taxes_included")),
        "location_id": str(order["location_id"]) if order.get("location_id") else None,
        "note": _clean(order.get("note")),
        "customer": normalize_customer(order),
        "billing_address": normalize_address(order.get("billing_address"), email),
        "shipping_address": normalize_address(order.get("shipping_address"), email),
        "lines": [
            normalize_line(item, digits) for item in order.get("line_items") or ()
        ],
        "shipping": [
            normalize_shipping(item, digits)
            for item in order.get("shipping_lines") or ()
        ],
        "gateways": list(order.get("payment_gateway_names") or ()),
        # None: the payload has no total to check the order against
        "total_price": money(order["total_price"], digits)
        if order.get("total_price") not in (None, "")
        else None,
    }


def lines_digest(normalized):
    """Fingerprint of what an order's lines would write to Odoo: equal digests
    mean an update changes nothing the sale order shows."""
    data = {
        "lines": [
            (
                line["line_id"],
                line["sku"],
                line["quantity"],
                line["price_unit"],
                line["discount_amount"],
                [list(t) for t in line["taxes"]],
            )
            for line in normalized["lines"]
        ],
        "shipping": [
            (s["title"], s["price"], [list(t) for t in s["taxes"]])
            for s in normalized["shipping"]
        ],
        "currency": normalized["currency"],
        "shipping_address": normalized["shipping_address"],
    }
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str).encode()
    ).hexdigest()


def describe_changes(old_lines, normalized):
    """Human-readable differences between stored lines (``{line_id: (sku, qty,
    price)}``) and an incoming order, for the review activity."""
    changes = []
    new = {line["line_id"]: line for line in normalized["lines"]}
    for line_id, (sku, qty, price) in sorted(old_lines.items()):
        line = new.get(line_id)
        if line is None:
            changes.append(f"line {sku or line_id} removed")
        elif line["quantity"] != qty or line["price_unit"] != price:
            changes.append(
                f"line {sku or line_id}: quantity {qty:g} → {line['quantity']:g}, "
                f"price {price} → {line['price_unit']}"
            )
    for line_id, line in new.items():
        if line_id not in old_lines:
            changes.append(
                f"line {line['sku'] or line_id} added ({line['quantity']:g})"
            )
    return changes


# -- refunds -------------------------------------------------------------------
def normalize_refund(refund, digits=2):
    if not refund.get("id") or not refund.get("order_id"):
        raise ValueError("refund payload without id or order_id")
    lines = []
    for item in refund.get("refund_line_items") or ():
        restock_type = _clean(item.get("restock_type")) or (
            "legacy_restock" if refund.get("restock") else "no_restock"
        )
        lines.append(
            {
                "line_item_id": str(
                    item.get("line_item_id") or (item.get("line_item") or {}).get("id")
                ),
                "quantity": float(to_decimal(item.get("quantity"))),
                "restock_type": restock_type,
                "restock": restock_type in RESTOCK_TYPES,
                "subtotal": money(item.get("subtotal"), digits),
                "total_tax": money(item.get("total_tax"), digits),
                "location_id": str(item["location_id"])
                if item.get("location_id")
                else None,
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
    transactions = [
        {
            "gateway": _clean(t.get("gateway")),
            "amount": money(t.get("amount"), digits),
            "kind": _clean(t.get("kind")),
            "status": _clean(t.get("status")),
        }
        for t in refund.get("transactions") or ()
    ]
    return {
        "id": str(refund["id"]),
        "order_id": str(refund["order_id"]),
        "created_at": parse_datetime(
            refund.get("created_at") or refund.get("processed_at")
        ),
        "note": _clean(refund.get("note")),
        "lines": lines,
        "shipping_amount": money(shipping, digits),
        "transactions": transactions,
    }


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
