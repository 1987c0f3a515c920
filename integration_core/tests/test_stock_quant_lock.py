"""Stock changed by two message jobs at once keeps one quant per product and
location: no reservation is left behind by Odoo's skip-the-locked-quant rule.

The two transactions are real ones on their own connections (the test's
transaction would see neither), on data committed for the test and removed
after it.
"""

import threading

import psycopg2

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import TransactionCase, tagged

JOB_CONTEXT = {"integration_message_id": 1}


@tagged("post_install", "-at_install")
class TestStockQuantLock(TransactionCase):
    def connect(self):
        cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(cr.close)
        return api.Environment(cr, SUPERUSER_ID, {})

    def setUp(self):
        super().setUp()
        env = self.connect()
        product = env["product.product"].create(
            {"name": "Quant lock test", "is_storable": True}
        )
        self.location = env.ref("stock.warehouse0").lot_stock_id
        env["stock.quant"]._update_available_quantity(product, self.location, 10)
        env.cr.commit()
        self.product_id = product.id
        self.addCleanup(self.remove_product)

    def remove_product(self):
        env = self.connect()
        env["stock.quant"].search(
            [("product_id", "=", self.product_id)]
        ).sudo().unlink()
        env["product.product"].browse(self.product_id).unlink()
        env.cr.commit()

    def reserve(self, env, quantity):
        product = env["product.product"].browse(self.product_id)
        location = env["stock.location"].browse(self.location.id)
        env["stock.quant"]._update_reserved_quantity(product, location, quantity)

    def quants(self):
        env = self.connect()
        return env["stock.quant"].search_read(
            [("product_id", "=", self.product_id)], ["quantity", "reserved_quantity"]
        )

    def test_second_job_waits_then_conflicts_instead_of_a_new_quant(self):
        first, second = self.connect(), self.connect()
        first = first(context=JOB_CONTEXT)
        second = second(context=JOB_CONTEXT)
        # both snapshots start before either reserves
        for env in (first, second):
            env.cr.execute("SELECT 1")
        self.reserve(first, 3)
        errors = []

        def reserve_second():
            try:
                self.reserve(second, 2)
                second.cr.commit()
            except psycopg2.Error as err:
                errors.append(err)
                second.cr.rollback()

        thread = threading.Thread(target=reserve_second)
        thread.start()
        thread.join(1)
        self.assertTrue(thread.is_alive(), "the second job waits for the first")
        first.cr.commit()
        thread.join(30)
        self.assertEqual(len(errors), 1)
        self.assertIsInstance(errors[0], psycopg2.errors.SerializationFailure)
        self.assertEqual(
            [(q["quantity"], q["reserved_quantity"]) for q in self.quants()],
            [(10.0, 3.0)],
        )

    def test_outside_jobs_odoo_rule_holds(self):
        """Odoo's own transactions keep their rule: the locked quant is
        skipped and a new one holds the reservation."""
        first, second = self.connect(), self.connect()
        self.reserve(first, 3)
        self.reserve(second, 2)
        second.cr.commit()
        first.cr.commit()
        self.assertEqual(len(self.quants()), 2)
