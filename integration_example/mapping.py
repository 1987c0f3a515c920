"""Example shop payloads to canonical documents: plain functions, no ORM.

The example shop is made up; its ``sale.new`` webhook body reads::

    {
        "order_ref": "EX-1001",
        "number": "1001",
        "currency": "EUR",
        "placed_at": "2026-03-14T09:26:53Z",
        "buyer": {"name": "Jane Doe", "email": "jane@example.com"},
        "items": [{"sku": "EX-MUG", "qty": 2, "price": "12.50"}],
        "total": "25.00"
    }

A real connector's mapping grows with its payloads (addresses, taxes,
discounts, shipping: see ``integration_shopify/mapping.py``); the target stays
the canonical documents of ``integration_core/readme/CANONICAL.md``.
"""

from decimal import Decimal, InvalidOperation


def money_text(value):
    """The canonical form of an amount: a decimal string ("12.50").

    :param value: the shop's amount, a string or a number
    :raises ValueError: it is not a number
    """
    # bool is an int: True must not become an amount of 1
    if value is None or isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    try:
        # str() first: Decimal(12.1) would carry the float's binary error
        return format(Decimal(str(value)), "f")
    except InvalidOperation as err:
        raise ValueError(f"not an amount: {value!r}") from err


def to_canonical_order(payload):
    """The canonical ``order`` document of a ``sale.new`` payload.

    :param payload: the decoded webhook body
    :returns: a dict following the ``order`` schema of integration_core
    :raises ValueError, KeyError, TypeError: the payload is not an order of
        the shop (the handler turns them into a permanent failure)
    """
    ref = payload.get("order_ref")
    if not ref:
        raise ValueError("order without order_ref")
    buyer = payload.get("buyer") or {}
    return {
        "schema_version": "1.0",
        "external_id": str(ref),
        "name": str(payload.get("number") or ref),
        "channel": "example",
        "currency": payload["currency"],
        "created_at": payload["placed_at"],
        "customer": {
            "name": buyer.get("name"),
            "email": buyer.get("email"),
            # the shop has no customer accounts
            "guest": True,
        },
        "lines": [
            {
                # the shop's items have no id: their position is stable
                "external_id": f"{ref}-{position}",
                "sku": item.get("sku"),
                "quantity": item["qty"],
                "unit_price": money_text(item["price"]),
            }
            for position, item in enumerate(payload["items"], start=1)
        ],
        "totals": {"total": money_text(payload["total"])},
    }
