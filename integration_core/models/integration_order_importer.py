import logging

from odoo import Command, api, fields, models

from .. import commerce
from ..exceptions import DependencyNotReady, PermanentError, ReviewRequired

_logger = logging.getLogger(__name__)

ORDER_MODEL = "sale.order"


class IntegrationOrderImporter(models.AbstractModel):
    """Canonical orders and cancellations to ``sale.order``, for every channel.

    Safe to call with any version of an order in any sequence: an older version
    than the one applied is skipped, so an order never regresses; a quotation is
    rewritten by a newer version, a confirmed order gets a review activity
    instead. Every imported quotation is checked against the channel's total.
    """

    _name = "integration.order.importer"
    _inherit = "integration.importer"
    _description = "Integration Order Importer"

    @api.model
    def _import_order(self, backend, document, cancellation=None):
        """Create or update the sale order of a canonical ``order`` document.

        :param cancellation: the order's ``order.cancellation`` document when
            the channel sends both at once (the order is then not confirmed)
        :returns: the ``sale.order``
        :raises PermanentError: unknown currency, product or tax (by policy)
        :raises ReviewRequired: Odoo's total differs from the channel's
        """
        currency = self._find_currency(backend, document.get("currency"))
        data = commerce.order_data(document, digits=currency.decimal_places)
        Binding = self.env["integration.binding"]
        binding = Binding._find(backend, ORDER_MODEL, data["id"])
        order = binding._get_record() if binding else None
        if order and binding.external_updated_at and data["updated_at"]:
            if data["updated_at"] < binding.external_updated_at:
                _logger.info("order %s: skipping an older version", data["id"])
                return order
        digest = commerce.lines_digest(data)
        values = {
            "external_name": data["name"],
            "external_updated_at": data["updated_at"],
            "external_status": data["financial_status"],
        }
        topic = "order.updated"
        if not order:
            order = self._create_order(backend, data, currency)
            values["digest"] = digest
            topic = "order.imported"
        elif digest != binding.digest:
            if order.state in ("draft", "sent"):
                self._rewrite_quotation(backend, order, data, currency)
                values["digest"] = digest
            elif order.state != "cancel":
                self._review_changes(order, data)
                values["digest"] = digest
        binding = Binding._bind(backend, order, data["id"], binding=binding, **values)
        if cancellation:
            self._import_cancellation(backend, cancellation)
        else:
            self._check_order_total(binding, order, data)
            self._apply_confirmation(backend, order, data)
        if data["financial_status"] == "paid":
            self._register_order_payment(backend, order, data)
        self._publish(topic, backend, order, external_id=data["id"])
        return order

    def _create_order(self, backend, data, currency):
        values = self._prepare_order_values(backend, data, currency)
        values["order_line"] = [
            Command.create(line) for line in self._prepare_lines(backend, data)
        ]
        return self.env["sale.order"].create(values)

    def _rewrite_quotation(self, backend, order, data, currency):
        values = self._prepare_order_values(backend, data, currency)
        values.pop("date_order", None)
        lines = self._prepare_lines(backend, data)
        # The order's own values first, and only those that change: writing the
        # company (even unchanged) or the fiscal position recomputes the taxes
        # of the order's lines from their products, new lines included, so the
        # mapped taxes would be lost.
        changed = {
            name: value
            for name, value in values.items()
            if order._fields[name].convert_to_write(order[name], order) != value
        }
        if changed:
            order.write(changed)
        order.write(
            {"order_line": [Command.clear()] + [Command.create(line) for line in lines]}
        )

    def _review_changes(self, order, data):
        """A confirmed order changed in the channel: ask someone instead."""
        old = {
            line.integration_line_ref: (
                line.product_id.default_code or "",
                line.product_uom_qty,
                line.price_unit,
            )
            for line in order.order_line
            if line.integration_line_ref
        }
        changes = commerce.describe_changes(old, data) or [
            self.env._("shipping, address or taxes changed")
        ]
        self._schedule_review(
            order,
            self.env._("Order %s changed after confirmation", data["name"]),
            changes,
        )

    def _check_order_total(self, binding, order, data):
        """Refuse a quotation whose total is not the channel's: an order must
        never be confirmed or paid with an amount the channel did not charge.

        :raises ReviewRequired: Odoo's total differs from the document's
            ``totals.total`` by more than the currency's rounding; the order
            stays a quotation with a review activity, and its next version (or
            a replay) rewrites it again
        """
        if order.state not in ("draft", "sent"):
            return
        try:
            self._check_channel_total(
                order,
                data["total_price"],
                self.env._("Order %s: total differs from the channel", data["name"]),
            )
        except ReviewRequired:
            binding.digest = False
            raise

    def _apply_confirmation(self, backend, order, data):
        """Confirm the quotation as the backend's confirmation policy says."""
        if order.state not in ("draft", "sent"):
            return
        policy = backend.confirm_policy
        if policy == "confirm" or (
            policy == "paid" and data["financial_status"] in commerce.PAID_STATUSES
        ):
            order.action_confirm()

    def _register_order_payment(self, backend, order, data):
        """Record the customer's payment of a paid order once, in the journal of
        its first mapped gateway (none mapped: no payment)."""
        gateways = set(data["gateways"])
        if not gateways or not data["total_price"]:
            return None
        rows = backend.payment_map_ids.filtered(lambda row: row.gateway in gateways)
        if not rows:
            return None
        gateway = next(g for g in data["gateways"] if g in rows.mapped("gateway"))
        return self.env["integration.payment.importer"]._import_payment(
            backend,
            {
                "external_id": f"order:{data['id']}",
                "amount": f"{data['total_price']:.{order.currency_id.decimal_places}f}",
                "currency": order.currency_id.name,
                "gateway": gateway,
                "reference": data["name"],
                "match": {"order_external_id": data["id"]},
            },
        )

    # -- cancellations ---------------------------------------------------------------
    @api.model
    def _import_cancellation(self, backend, document):
        """Cancel the order of a canonical ``order.cancellation``: at once when
        nothing was delivered, else a review activity.

        :raises DependencyNotReady: the order is not imported yet
        """
        order = self._get_bound_order(backend, document["external_id"])
        if order.state == "cancel":
            return order
        reason = document.get("reason") or "-"
        if not any(line.qty_delivered for line in order.order_line):
            order.with_context(disable_cancel_warning=True)._action_cancel()
            order.message_post(
                body=self.env._("Cancelled by the channel (%s).", reason)
            )
            self._publish(
                "order.cancelled", backend, order, external_id=document["external_id"]
            )
        else:
            self._schedule_review(
                order,
                self.env._(
                    "Order %s cancelled after delivery",
                    document.get("name") or order.client_order_ref,
                ),
                [self.env._("reason: %s", reason)],
            )
        return order

    @api.model
    def _get_bound_order(self, backend, external_id):
        """The sale order of ``external_id``.

        :raises DependencyNotReady: the order is not imported yet
        """
        order = self.env["integration.binding"]._find_record(
            backend, ORDER_MODEL, external_id
        )
        if not order:
            raise DependencyNotReady(f"order {external_id} not imported yet")
        return order

    # -- order values ----------------------------------------------------------------
    def _prepare_order_values(self, backend, data, currency):
        """``sale.order`` values of an order (lines apart)."""
        partner, invoice, shipping = self._find_partners(backend, data)
        values = {
            "partner_id": partner.id,
            "partner_invoice_id": invoice.id,
            "partner_shipping_id": shipping.id,
            "client_order_ref": data["name"],
            "origin": data["name"],
            "company_id": backend.company_id.id,
            "pricelist_id": self._find_pricelist(backend, currency).id,
            "warehouse_id": self._find_warehouse(backend, data).id,
            "date_order": data["created_at"] or fields.Datetime.now(),
        }
        if backend.team_id:
            values["team_id"] = backend.team_id.id
        carrier = self._get_order_carrier(backend, data)
        if carrier:
            values["carrier_id"] = carrier.id
        return values

    def _get_order_carrier(self, backend, data):
        """The delivery method of an imported order: the backend's *Delivery
        Method of Imported Orders* (empty: none). Its delivery orders get it,
        so a carrier backend's method requests their labels on validation.

        :returns: a ``delivery.carrier``, possibly empty
        """
        return backend.default_carrier_id

    def _find_warehouse(self, backend, data):
        """The mapped location's warehouse, else the backend's, else the
        company's first."""
        warehouse = backend._get_location_warehouse(data["location_id"])
        return (
            warehouse
            or backend.warehouse_id
            or self.env["stock.warehouse"].search(
                [("company_id", "=", backend.company_id.id)], limit=1
            )
        )

    def _find_pricelist(self, backend, currency):
        """The backend's pricelist in its currency, else one in ``currency``
        (created on first use)."""
        pricelist = backend.pricelist_id
        if pricelist and pricelist.currency_id == currency:
            return pricelist
        Pricelist = self.env["product.pricelist"].sudo()
        pricelist = Pricelist.search(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", (False, backend.company_id.id)),
            ],
            order="company_id",
            limit=1,
        )
        return pricelist or Pricelist.create(
            {
                "name": f"{backend.name} {currency.name}",
                "currency_id": currency.id,
                "company_id": backend.company_id.id,
            }
        )

    # -- lines -----------------------------------------------------------------------
    def _prepare_lines(self, backend, data):
        """``sale.order.line`` values: goods, discounts, then shipping."""
        products = self._find_products(backend, data["lines"])
        taxes = {}
        lines = []
        discounts = {}
        included = data["taxes_included"]
        for line in data["lines"]:
            product = products[line["line_id"]]
            tax_ids = self._find_taxes(backend, line["taxes"], included, taxes)
            values = {
                "product_id": product.id,
                "name": line["name"] or product.display_name,
                "product_uom_qty": line["quantity"],
                "price_unit": line["price_unit"],
                "tax_id": [Command.set(tax_ids)],
                "integration_line_ref": line["line_id"],
            }
            if line["discount_amount"]:
                if backend.discount_policy == "line":
                    values["discount"] = line["discount_percent"]
                else:
                    key = tuple(sorted(tax_ids))
                    discounts[key] = discounts.get(key, 0.0) + line["discount_amount"]
            lines.append(values)
        for discount in data["discounts"]:
            key = tuple(
                sorted(self._find_taxes(backend, discount["taxes"], included, taxes))
            )
            discounts[key] = discounts.get(key, 0.0) + discount["amount"]
        for tax_ids, amount in discounts.items():
            lines.append(
                {
                    "product_id": backend._get_discount_product().id,
                    "name": self.env._("Discount"),
                    "product_uom_qty": 1,
                    "price_unit": -amount,
                    "tax_id": [Command.set(list(tax_ids))],
                }
            )
        for shipping in data["shipping"]:
            tax_ids = self._find_taxes(backend, shipping["taxes"], included, taxes)
            lines.append(
                {
                    "product_id": backend._get_shipping_product().id,
                    "name": shipping["title"] or self.env._("Shipping"),
                    "product_uom_qty": 1,
                    "price_unit": shipping["price"],
                    "tax_id": [Command.set(tax_ids)],
                    "integration_line_ref": f"shipping:{shipping['line_id']}",
                }
            )
        return lines

    def _find_products(self, backend, lines):
        """``{line_id: product}``: SKUs match ``default_code``, the channel's
        variant ids their binding; unknown ones are created or fail, by policy."""
        skus = {line["sku"] for line in lines if line["sku"]}
        by_sku = {}
        if skus:
            for product in self.env["product.product"].search(
                [
                    ("default_code", "in", list(skus)),
                    ("company_id", "in", (False, backend.company_id.id)),
                ]
            ):
                by_sku.setdefault(product.default_code, product)
        # a matching SKU wins, so only the other lines' variants are looked up
        by_variant = self.env["integration.binding"]._find_records(
            backend,
            "product.product",
            [line["variant_id"] for line in lines if line["sku"] not in by_sku],
        )
        result = {}
        missing = []
        for line in lines:
            product = by_sku.get(line["sku"]) or by_variant.get(line["variant_id"])
            if not product:
                if backend.missing_sku_policy != "create":
                    missing.append(line["sku"] or line["title"])
                    continue
                product = self._create_product(backend, line)
                if line["sku"]:
                    by_sku[line["sku"]] = product
            result[line["line_id"]] = product
        if missing:
            raise PermanentError(
                "no product with SKU %s; create it (or set the backend to create "
                "missing products) and retry" % ", ".join(sorted(set(missing)))
            )
        return result

    def _create_product(self, backend, line):
        """A storable product for an unknown SKU, bound to the channel's variant."""
        product = self.env["product.product"].create(
            self._prepare_product_values(backend, line)
        )
        if line["variant_id"]:
            backend._bind_product(product, line["variant_id"])
        return product

    def _prepare_product_values(self, backend, line):
        return {
            "name": line["title"] or line["sku"],
            "default_code": line["sku"] or False,
            "list_price": line["price_unit"],
            "type": "consu",
            "is_storable": True,
            "sale_ok": True,
        }

    def _find_taxes(self, backend, tax_keys, taxes_included, cache):
        """Odoo tax ids of the channel's taxes (``commerce.TaxKey``)."""
        tax_ids = []
        for key in tax_keys:
            cache_key = (key, taxes_included)
            if cache_key not in cache:
                cache[cache_key] = self._find_tax(backend, key, taxes_included)
            if cache[cache_key]:
                tax_ids.append(cache[cache_key])
        return tax_ids

    def _find_tax(self, backend, key, taxes_included):
        """Odoo tax id of one channel tax: the mapping table, then the
        backend's fallback (a sale tax of the same rate, no tax, or fail)."""
        for row in backend.tax_map_ids:
            if row.title == key.title and round(row.rate, 4) == round(key.rate, 4):
                return row.tax_id.id
        policy = backend.tax_fallback
        if policy == "none":
            return False
        if policy == "rate":
            tax = self.env["account.tax"].search(
                [
                    ("type_tax_use", "=", "sale"),
                    ("amount_type", "=", "percent"),
                    ("amount", "=", key.rate),
                    ("company_id", "=", backend.company_id.id),
                    ("price_include", "=", taxes_included),
                ],
                limit=1,
            )
            if tax:
                return tax.id
        raise PermanentError(
            f"no Odoo tax for the channel's tax {key.title!r} at {key.rate:g}%; "
            "add it to the backend's tax mapping and retry"
        )
