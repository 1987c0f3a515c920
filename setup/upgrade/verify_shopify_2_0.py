"""Run by setup/upgrade-check in ``odoo shell`` with the CURRENT code after the
upgrade: the settings, bindings and history of populate_shopify_1_1.py."""

import os

with open(os.environ["UPGRADE_STATE"], encoding="utf-8") as state:
    backend_id, order_id, refund_id, *message_ids = state.read().split()
backend = env["integration.backend"].browse(int(backend_id))  # noqa: F821
Binding = env["integration.binding"]  # noqa: F821
order = Binding._find_record(backend, "sale.order", order_id)
checks = {
    "settings": (backend.confirm_policy, backend.tax_fallback, backend.post_refunds)
    == ("confirm", "fail", True)
    and bool(backend.warehouse_id),
    "tax mapping": [(t.title, t.rate) for t in backend.tax_map_ids] == [("VAT", 20.0)],
    "gateway mapping": backend.payment_map_ids.gateway == "shopify_payments",
    "order binding": bool(order),
    "payment binding": bool(
        Binding._find_record(backend, "account.payment", f"order:{order_id}")
    ),
    "refund binding": bool(
        Binding.search(
            [
                ("backend_id", "=", backend.id),
                ("external_id", "=", f"refund:{refund_id}"),
            ]
        )
    ),
    "product binding": env["integration.shopify.product.binding"]  # noqa: F821
    .search([("backend_id", "=", backend.id)])
    .shopify_variant_id
    == "V-1",
    "line refs": all(order.order_line.mapped("integration_line_ref")),
    "reconciliation": str(backend.reconcile_checkpoint) == "2026-01-02 03:04:05"
    and bool(backend.reconcile_cron_id.active),
    "old cron gone": not env.ref(  # noqa: F821
        "integration_shopify.ir_cron_shopify_reconcile", raise_if_not_found=False
    ),
    "messages": env["integration.inbox.message"]  # noqa: F821
    .browse([int(i) for i in message_ids])
    .mapped("state")
    == ["done", "done"],
}
refund = env["integration.inbox.message"].browse(int(message_ids[1]))  # noqa: F821
refund.action_replay()
checks["replayed refund credits once"] = refund._job_process() == "done" and (
    env["account.move"].search_count(  # noqa: F821
        [("ref", "=", f"Shopify refund {refund_id}"), ("move_type", "=", "out_refund")]
    )
    == 1
)
env.cr.rollback()  # noqa: F821
failed = [name for name, ok in checks.items() if not ok]
print("upgrade check:", "ok" if not failed else f"FAILED {failed}")
