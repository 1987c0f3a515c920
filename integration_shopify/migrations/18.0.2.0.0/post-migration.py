"""18.0.2.0.0: Shopify's hourly reconciliation runs as the core's scheduled
reconciliation of each Shopify backend (from its checkpoint, healed at once);
the connector's own cron goes."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'integration_backend' "
        "AND column_name = 'shopify_reconcile_checkpoint'"
    )
    if cr.fetchone():
        cr.execute(
            """UPDATE integration_backend
               SET reconcile_checkpoint = shopify_reconcile_checkpoint
               WHERE backend_type = 'shopify' AND reconcile_checkpoint IS NULL"""
        )
    Backend = env["integration.backend"].with_context(active_test=False)
    Backend.search([("backend_type", "=", "shopify")]).write(
        Backend.SHOPIFY_RECONCILE_DEFAULTS
    )
    old_cron = env.ref(
        "integration_shopify.ir_cron_shopify_reconcile", raise_if_not_found=False
    )
    if old_cron:
        old_cron.unlink()
