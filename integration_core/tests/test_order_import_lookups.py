"""The order importer looks each thing up once per order: an address given as
both billing and delivery address, the order's binding, variant bindings when
every SKU matched, the company's currency (the look-ups an order job pays on
top of Odoo's own sale order work)."""

from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from .common import canonical_order, make_backend, make_product

ADDRESS = {
    "name": "Jane",
    "street": "1 Main Street",
    "city": "New York",
    "zip": "10001",
    "state_code": "NY",
    "country_code": "US",
}


@tagged("post_install", "-at_install")
class TestOrderImportLookups(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.backend = make_backend(
            cls.env,
            name="Lookups shop",
            tax_fallback="none",
            confirm_policy="quotation",
        )
        cls.product = make_product(cls.env, "LOOKUP-1", 10.0)
        cls.Importer = type(cls.env["integration.order.importer"])
        cls.Binding = type(cls.env["integration.binding"])

    def order(self, external_id, **values):
        return self.backend._import_canonical(
            "order",
            canonical_order(self.env, external_id, "LOOKUP-1", 1, "10.00", **values),
        )

    def test_an_address_given_twice_is_prepared_once(self):
        prepare = self.Importer._prepare_address_values
        with patch.object(
            self.Importer, "_prepare_address_values", autospec=True, side_effect=prepare
        ) as prepared:
            order = self.order(
                "lookup-1", billing_address=ADDRESS, shipping_address=dict(ADDRESS)
            )
        # the new customer, its invoice and its delivery address: one look-up
        self.assertEqual(prepared.call_count, 1)
        partner = order.partner_id
        self.assertEqual(partner.street, "1 Main Street")
        self.assertEqual(partner.state_id.code, "NY")
        self.assertEqual(order.partner_invoice_id, partner)
        self.assertEqual(order.partner_shipping_id, partner)

    def test_different_addresses_are_prepared_each(self):
        elsewhere = dict(ADDRESS, street="9 Other Street", city="Albany", zip="12207")
        prepare = self.Importer._prepare_address_values
        with patch.object(
            self.Importer, "_prepare_address_values", autospec=True, side_effect=prepare
        ) as prepared:
            order = self.order(
                "lookup-2", billing_address=ADDRESS, shipping_address=elsewhere
            )
        self.assertEqual(prepared.call_count, 2)
        self.assertEqual(order.partner_invoice_id, order.partner_id)
        delivery = order.partner_shipping_id
        self.assertEqual(delivery.parent_id, order.partner_id)
        self.assertEqual(delivery.type, "delivery")
        self.assertEqual((delivery.city, delivery.state_id.code), ("Albany", "NY"))

    def test_the_order_binding_is_searched_once(self):
        find = self.Binding._find
        with patch.object(
            self.Binding, "_find", autospec=True, side_effect=find
        ) as found:
            order = self.order("lookup-3")
        order_calls = [c for c in found.call_args_list if c.args[2] == "sale.order"]
        self.assertEqual(len(order_calls), 1)
        binding = self.env["integration.binding"]._find(
            self.backend, "sale.order", "lookup-3"
        )
        self.assertEqual(binding.res_id, order.id)
        self.assertTrue(binding.digest)
        # a new version updates that binding (found once again)
        with patch.object(
            self.Binding, "_find", autospec=True, side_effect=find
        ) as found:
            self.order("lookup-3", updated_at="2026-03-15T09:00:00Z")
        order_calls = [c for c in found.call_args_list if c.args[2] == "sale.order"]
        self.assertEqual(len(order_calls), 1)
        self.assertEqual(binding.external_updated_at.isoformat(), "2026-03-15T09:00:00")

    def test_variant_bindings_only_for_lines_without_a_known_sku(self):
        bound = make_product(self.env, "LOOKUP-BOUND", 5.0)
        self.env["integration.binding"]._bind(self.backend, bound, "variant-9")
        find_records = self.Binding._find_records
        lines = [
            {
                "external_id": "1",
                "sku": "LOOKUP-1",
                "variant_id": "variant-1",
                "quantity": 1,
                "unit_price": "10.00",
            },
            {
                "external_id": "2",
                "sku": "NOT-HERE",
                "variant_id": "variant-9",
                "quantity": 1,
                "unit_price": "5.00",
            },
        ]
        with patch.object(
            self.Binding, "_find_records", autospec=True, side_effect=find_records
        ) as looked_up:
            order = self.order("lookup-4", lines=lines, totals={"total": "15.00"})
        products = [
            c for c in looked_up.call_args_list if c.args[2] == "product.product"
        ]
        self.assertEqual([list(c.args[3]) for c in products], [["variant-9"]])
        self.assertEqual(order.order_line.product_id, self.product | bound)

    def test_the_company_currency_is_not_searched(self):
        Currency = type(self.env["res.currency"])
        search = Currency.search
        with patch.object(
            Currency, "search", autospec=True, side_effect=search
        ) as searched:
            order = self.order("lookup-5")
        self.assertFalse(
            [
                c
                for c in searched.call_args_list
                if ("name", "=", self.env.company.currency_id.name) in c.args[1]
            ]
        )
        self.assertEqual(order.currency_id, self.env.company.currency_id)
