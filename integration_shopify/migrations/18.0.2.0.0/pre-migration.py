"""18.0.2.0.0: the business layer moved to integration_core.

Copies what the Shopify connector kept itself onto the core's models, before
this version's models load (the old columns and tables are still there):

- the backend's ``shopify_*`` order settings onto the backend's Sales fields,
  and the tax and payment gateway mappings onto the core's tables;
- order bindings onto ``integration.binding`` (the order, its recorded payment
  and its applied refunds), product bindings onto it as their parent
  (``_inherits``);
- ``sale.order.line.shopify_line_id`` onto ``integration_line_ref``.
"""

from odoo.tools import SQL

SETTINGS = (
    ("warehouse_id", "shopify_warehouse_id"),
    ("team_id", "shopify_team_id"),
    ("pricelist_id", "shopify_pricelist_id"),
    ("confirm_policy", "shopify_confirm_policy"),
    ("missing_sku_policy", "shopify_missing_sku_policy"),
    ("guest_partner_id", "shopify_guest_partner_id"),
    ("shipping_product_id", "shopify_shipping_product_id"),
    ("discount_policy", "shopify_discount_policy"),
    ("discount_product_id", "shopify_discount_product_id"),
    ("tax_fallback", "shopify_tax_fallback"),
    ("post_refunds", "shopify_post_refunds"),
)


def _columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        (table,),
    )
    return {row[0] for row in cr.fetchall()}


def _copy_settings(cr):
    backend_columns = _columns(cr, "integration_backend")
    pairs = [
        (new, old)
        for new, old in SETTINGS
        if new in backend_columns and old in backend_columns
    ]
    if not pairs:
        return
    cr.execute(
        SQL(
            "UPDATE integration_backend SET %s WHERE backend_type = 'shopify'",
            SQL(", ").join(
                SQL("%s = %s", SQL.identifier(new), SQL.identifier(old))
                for new, old in pairs
            ),
        )
    )


def _copy_maps(cr):
    if _columns(cr, "integration_shopify_tax_map"):
        cr.execute(
            """INSERT INTO integration_tax_map (backend_id, title, rate, tax_id,
                   create_uid, create_date, write_uid, write_date)
               SELECT backend_id, title, rate, tax_id,
                   create_uid, create_date, write_uid, write_date
               FROM integration_shopify_tax_map
               ON CONFLICT DO NOTHING"""
        )
    if _columns(cr, "integration_shopify_payment_map"):
        cr.execute(
            """INSERT INTO integration_payment_map (backend_id, gateway, journal_id,
                   create_uid, create_date, write_uid, write_date)
               SELECT backend_id, gateway, journal_id,
                   create_uid, create_date, write_uid, write_date
               FROM integration_shopify_payment_map
               ON CONFLICT DO NOTHING"""
        )


def _copy_order_bindings(cr):
    columns = _columns(cr, "integration_shopify_order_binding")
    if not columns:
        return
    cr.execute(
        """INSERT INTO integration_binding
               (backend_id, res_model, res_id, external_id, external_name,
                external_updated_at, external_status, digest,
                create_uid, create_date, write_uid, write_date)
           SELECT backend_id, 'sale.order', sale_order_id, shopify_id, shopify_name,
                shopify_updated_at, financial_status, lines_digest,
                create_uid, create_date, write_uid, write_date
           FROM integration_shopify_order_binding
           ON CONFLICT DO NOTHING"""
    )
    if "payment_id" in columns:
        cr.execute(
            """INSERT INTO integration_binding
                   (backend_id, res_model, res_id, external_id, external_status,
                    create_uid, create_date, write_uid, write_date)
               SELECT backend_id, 'account.payment', payment_id,
                    'order:' || shopify_id, 'paid',
                    create_uid, create_date, write_uid, write_date
               FROM integration_shopify_order_binding
               WHERE payment_id IS NOT NULL
               ON CONFLICT DO NOTHING"""
        )
    if "refund_ids" in columns:
        # refunds are bound to their order: only "already applied" matters
        cr.execute(
            """INSERT INTO integration_binding
                    (backend_id, res_model, res_id, external_id, external_name,
                     create_uid, create_date, write_uid, write_date)
                SELECT b.backend_id, 'sale.order', b.sale_order_id,
                       'refund:' || refund.id, 'refund:' || refund.id,
                       b.create_uid, b.create_date, b.write_uid, b.write_date
                FROM integration_shopify_order_binding b,
                     jsonb_array_elements_text(
                         CASE WHEN jsonb_typeof(b.refund_ids) = 'array'
                              THEN b.refund_ids ELSE '[]'::jsonb END
                     ) AS refund(id)
                ON CONFLICT DO NOTHING"""
        )


def _copy_product_bindings(cr):
    columns = _columns(cr, "integration_shopify_product_binding")
    if not columns or "binding_id" in columns:
        return
    cr.execute(
        "ALTER TABLE integration_shopify_product_binding ADD COLUMN binding_id integer"
    )
    cr.execute(
        SQL(
            """SELECT id, backend_id, product_id, %s,
                   create_uid, create_date, write_uid, write_date
               FROM integration_shopify_product_binding""",
            SQL.identifier("shopify_variant_id")
            if "shopify_variant_id" in columns
            else SQL("NULL"),
        )
    )
    for row in cr.fetchall():
        binding_id, backend_id, product_id, variant_id = row[:4]
        cr.execute(
            """INSERT INTO integration_binding
                   (backend_id, res_model, res_id, external_id,
                    create_uid, create_date, write_uid, write_date)
               VALUES (%s, 'product.product', %s, %s, %s, %s, %s, %s)
               ON CONFLICT (backend_id, res_model, external_id)
               DO UPDATE SET res_id = EXCLUDED.res_id
               RETURNING id""",
            (backend_id, product_id, variant_id, *row[4:]),
        )
        cr.execute(
            "UPDATE integration_shopify_product_binding SET binding_id = %s "
            "WHERE id = %s",
            (cr.fetchone()[0], binding_id),
        )


def _copy_line_refs(cr):
    if "shopify_line_id" in _columns(cr, "sale_order_line"):
        cr.execute(
            """UPDATE sale_order_line SET integration_line_ref = shopify_line_id
               WHERE shopify_line_id IS NOT NULL AND integration_line_ref IS NULL"""
        )


def migrate(cr, version):
    if not version:
        return
    _copy_settings(cr)
    _copy_maps(cr)
    _copy_order_bindings(cr)
    _copy_product_bindings(cr)
    _copy_line_refs(cr)
