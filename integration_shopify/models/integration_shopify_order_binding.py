from odoo import fields, models


class IntegrationShopifyOrderBinding(models.Model):
    """Which sale order a Shopify order became, per backend, and the version of
    the order last applied to it."""

    _name = "integration.shopify.order.binding"
    _description = "Shopify Order Binding"
    _order = "id desc"
    _rec_name = "shopify_name"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    shopify_id = fields.Char(required=True, string="Shopify Order ID", index=True)
    shopify_name = fields.Char(string="Shopify Order Name")
    sale_order_id = fields.Many2one(
        "sale.order", required=True, ondelete="cascade", index=True
    )
    shopify_updated_at = fields.Datetime(
        help="updated_at of the order version last applied; older versions are skipped."
    )
    lines_digest = fields.Char(help="Fingerprint of the lines last applied.")
    financial_status = fields.Char()
    cancelled = fields.Boolean()
    payment_id = fields.Many2one(
        "account.payment",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="Customer payment recorded when Shopify reported the order paid.",
    )
    refund_ids = fields.Json(
        default=list, help="Shopify refund ids already turned into credit notes."
    )

    _sql_constraints = [
        (
            "shopify_id_backend_unique",
            "unique(backend_id, shopify_id)",
            "A Shopify order is bound once per backend.",
        ),
        (
            "sale_order_unique",
            "unique(sale_order_id)",
            "A sale order is bound to one Shopify order.",
        ),
    ]
