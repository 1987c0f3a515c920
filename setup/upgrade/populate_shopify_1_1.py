"""Run by setup/upgrade-check in ``odoo shell`` with the PREVIOUS code
(integration_shopify 18.0.1.1.0): a Shopify backend with its order settings,
mappings, a product binding, an imported paid order and a refund."""

import os
import sys

from odoo import Command

sys.path.insert(0, os.path.join(os.environ["PREV_TREE"], "integration_shopify/tests"))
import shopify_simulator as sim  # noqa: E402

tax = env["account.tax"].create(  # noqa: F821 (odoo shell)
    {"name": "Prev VAT", "amount": 20.0, "type_tax_use": "sale"}
)
journal = env["account.journal"].create(  # noqa: F821
    {"name": "Prev gateway", "code": "PRVGW", "type": "bank"}
)
backend = env["integration.backend"].create(  # noqa: F821
    {
        "name": "Prev Shopify",
        "backend_type": "shopify",
        "shopify_shop_domain": "prev.myshopify.com",
        "shopify_warehouse_id": env["stock.warehouse"].search([], limit=1).id,  # noqa: F821
        "shopify_confirm_policy": "confirm",
        "shopify_tax_fallback": "fail",
        "shopify_post_refunds": True,
        "shopify_reconcile_checkpoint": "2026-01-02 03:04:05",
        "shopify_tax_map_ids": [
            Command.create({"title": "VAT", "rate": 20.0, "tax_id": tax.id})
        ],
        "shopify_payment_map_ids": [
            Command.create({"gateway": "shopify_payments", "journal_id": journal.id})
        ],
    }
)
product = env["product.product"].create(  # noqa: F821
    {
        "name": "Prev A",
        "default_code": "PREV-A",
        "type": "consu",
        "is_storable": True,
        "taxes_id": [Command.clear()],
    }
)
env["integration.shopify.product.binding"].create(  # noqa: F821
    {
        "backend_id": backend.id,
        "product_id": product.id,
        "shopify_variant_id": "V-1",
        "inventory_item_id": "I-1",
    }
)
order = sim.order_payload(
    [("PREV-A", 2, "10.00")], taxes=[("VAT", 0.2)], shipping=("Std", "5.00")
)
message, _created = backend._inbox_receive("orders/create", order, "prev-evt-1")
refund, _created = backend._inbox_receive(
    "refunds/create",
    sim.refund_payload(order, [(0, 1)], restock_type="no_restock"),
    "prev-evt-2",
)
outcomes = [message._job_process(), refund._job_process()]
assert outcomes == ["done", "done"], (outcomes, message.last_error, refund.last_error)
env.cr.commit()  # noqa: F821
with open(os.environ["UPGRADE_STATE"], "w", encoding="utf-8") as state:
    state.write(
        f"{backend.id} {order['id']} {refund.payload['id']} {message.id} {refund.id}"
    )
print("populated")
