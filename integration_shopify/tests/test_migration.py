"""Upgrade to 18.0.2.0.0: a database of the previous version keeps its Shopify
settings, bindings and history. The old columns and tables are rebuilt here as
18.0.1.1.0 had them (in the test's transaction), then the migrations run."""

from odoo import Command
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_core.tests.common import load_migration


@tagged("post_install", "-at_install")
class TestMigrationToCanonical(TransactionCase):
    def test_settings_bindings_and_history_survive(self):
        env, cr = self.env, self.env.cr
        tax = env["account.tax"].create(
            {"name": "Old VAT", "amount": 20.0, "type_tax_use": "sale"}
        )
        journal = env["account.journal"].create(
            {"name": "Old gateway", "code": "OLDGW", "type": "bank"}
        )
        warehouse = env["stock.warehouse"].search([], limit=1)
        backend = env["integration.backend"].create(
            {"name": "Old Shopify", "backend_type": "shopify"}
        )
        product = env["product.product"].create({"name": "Old", "default_code": "OLD"})
        partner = env["res.partner"].create({"name": "Old customer"})
        order = env["sale.order"].create(
            {
                "partner_id": partner.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        payment = env["account.payment"].create(
            {"amount": 10, "partner_id": partner.id, "journal_id": journal.id}
        )
        message, _created = backend._inbox_receive("orders/create", {"id": 1}, "evt-1")
        env["integration.binding"].search([]).unlink()
        env.flush_all()
        # -- the 18.0.1.1.0 layout ----------------------------------------------------
        cr.execute(
            """ALTER TABLE integration_backend
                 ADD COLUMN IF NOT EXISTS shopify_warehouse_id integer,
                 ADD COLUMN IF NOT EXISTS shopify_confirm_policy varchar,
                 ADD COLUMN IF NOT EXISTS shopify_tax_fallback varchar,
                 ADD COLUMN IF NOT EXISTS shopify_post_refunds boolean,
                 ADD COLUMN IF NOT EXISTS shopify_reconcile_checkpoint timestamp;
               UPDATE integration_backend
                 SET shopify_warehouse_id = %s, shopify_confirm_policy = 'paid',
                     shopify_tax_fallback = 'none', shopify_post_refunds = true,
                     shopify_reconcile_checkpoint = '2026-01-02 03:04:05',
                     reconcile_enabled = false, reconcile_checkpoint = NULL
                 WHERE id = %s;
               CREATE TABLE IF NOT EXISTS integration_shopify_tax_map (
                 id serial, backend_id integer, title varchar, rate numeric,
                 tax_id integer, create_uid integer, create_date timestamp,
                 write_uid integer, write_date timestamp);
               INSERT INTO integration_shopify_tax_map (backend_id, title, rate, tax_id)
                 VALUES (%s, 'VAT', 20, %s);
               CREATE TABLE IF NOT EXISTS integration_shopify_payment_map (
                 id serial, backend_id integer, gateway varchar, journal_id integer,
                 create_uid integer, create_date timestamp, write_uid integer,
                 write_date timestamp);
               INSERT INTO integration_shopify_payment_map (backend_id, gateway, journal_id)
                 VALUES (%s, 'shopify_payments', %s);
               CREATE TABLE IF NOT EXISTS integration_shopify_order_binding (
                 id serial, backend_id integer, shopify_id varchar, shopify_name varchar,
                 sale_order_id integer, shopify_updated_at timestamp,
                 lines_digest varchar, financial_status varchar, cancelled boolean,
                 payment_id integer, refund_ids jsonb, create_uid integer,
                 create_date timestamp, write_uid integer, write_date timestamp);
               INSERT INTO integration_shopify_order_binding
                 (backend_id, shopify_id, shopify_name, sale_order_id,
                  shopify_updated_at, lines_digest, financial_status, payment_id,
                  refund_ids)
                 VALUES (%s, '5001', '#1001', %s, '2026-01-02 03:04:05', 'abc',
                         'paid', %s, '["900", "901"]');
               ALTER TABLE integration_shopify_product_binding
                 DROP COLUMN binding_id,
                 ADD COLUMN IF NOT EXISTS backend_id integer,
                 ADD COLUMN IF NOT EXISTS shopify_variant_id varchar;
               INSERT INTO integration_shopify_product_binding
                 (backend_id, product_id, shopify_variant_id, inventory_item_id,
                  export_inventory)
                 VALUES (%s, %s, '777', '888', true);
               ALTER TABLE sale_order_line ADD COLUMN IF NOT EXISTS shopify_line_id varchar;
               UPDATE sale_order_line SET shopify_line_id = 'L1',
                 integration_line_ref = NULL WHERE order_id = %s;
            """,
            (
                warehouse.id,
                backend.id,
                backend.id,
                tax.id,
                backend.id,
                journal.id,
                backend.id,
                order.id,
                payment.id,
                backend.id,
                product.id,
                order.id,
            ),
        )
        load_migration(__name__, "18.0.2.0.0", "pre-migration").migrate(
            cr, "18.0.1.1.0"
        )
        env.invalidate_all()
        load_migration(__name__, "18.0.2.0.0", "post-migration").migrate(
            cr, "18.0.1.1.0"
        )
        env.invalidate_all()
        # -- settings -----------------------------------------------------------------
        self.assertRecordValues(
            backend,
            [
                {
                    "warehouse_id": warehouse.id,
                    "confirm_policy": "paid",
                    "tax_fallback": "none",
                    "post_refunds": True,
                    "reconcile_enabled": True,
                    "reconcile_from_checkpoint": True,
                    "reconcile_auto_heal": True,
                }
            ],
        )
        self.assertEqual(str(backend.reconcile_checkpoint), "2026-01-02 03:04:05")
        self.assertTrue(backend.reconcile_cron_id.active)
        self.assertEqual(
            [(m.title, m.rate, m.tax_id) for m in backend.tax_map_ids],
            [("VAT", 20.0, tax)],
        )
        self.assertEqual(backend.payment_map_ids.journal_id, journal)
        # -- bindings -----------------------------------------------------------------
        Binding = env["integration.binding"]
        order_binding = Binding._find(backend, "sale.order", "5001")
        self.assertRecordValues(
            order_binding,
            [
                {
                    "res_id": order.id,
                    "external_name": "#1001",
                    "external_status": "paid",
                    "digest": "abc",
                }
            ],
        )
        self.assertEqual(
            Binding._find_record(backend, "account.payment", "order:5001"), payment
        )
        refunds = Binding.search(
            [("backend_id", "=", backend.id), ("external_id", "like", "refund:%")]
        )
        self.assertEqual(
            sorted(refunds.mapped("external_id")), ["refund:900", "refund:901"]
        )
        cr.execute(
            "SELECT binding_id FROM integration_shopify_product_binding "
            "WHERE inventory_item_id = '888'"
        )
        product_binding = Binding.browse(cr.fetchone()[0])
        self.assertRecordValues(
            product_binding,
            [
                {
                    "res_model": "product.product",
                    "res_id": product.id,
                    "external_id": "777",
                }
            ],
        )
        self.assertEqual(order.order_line.integration_line_ref, "L1")
        # -- history ------------------------------------------------------------------
        self.assertTrue(message.exists())
        self.assertEqual(message.backend_id, backend)
