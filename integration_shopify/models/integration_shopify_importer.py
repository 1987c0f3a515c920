import logging

from odoo import Command, api, fields, models

from odoo.addons.integration_core.exceptions import (
    DependencyNotReady,
    PermanentError,
    ReviewRequired,
)

from .. import mapping

_logger = logging.getLogger(__name__)

ADDRESS_FIELDS = ("name", "street", "street2", "city", "zip", "country_id", "state_id")


class IntegrationShopifyImporter(models.AbstractModel):
    """Applies Shopify orders and refunds to Odoo for one backend.

    Every method takes the backend first; the hooks (``_prepare_*``,
    ``_find_*``) are the places to extend the mapping.
    """

    _name = "integration.shopify.importer"
    _description = "Shopify Order Importer"

    # -- orders --------------------------------------------------------------------
    @api.model
    def _import_order(self, backend, payload):
        """Create or update the sale order of a Shopify order payload.

        Safe to call with any version of the order in any sequence: older
        versions than the one applied are skipped, so an order never regresses.
        """
        currency = self._find_currency(backend, payload.get("currency"))
        data = self._normalize(
            mapping.normalize_order, payload, digits=currency.decimal_places
        )
        binding = self._find_order_binding(backend, data["id"])
        if binding and binding.shopify_updated_at and data["updated_at"]:
            if data["updated_at"] < binding.shopify_updated_at:
                _logger.info("shopify order %s: skipping older version", data["id"])
                return binding.sale_order_id
        digest = mapping.lines_digest(data)
        if not binding:
            order = self._create_order(backend, data, currency)
            binding = self.env["integration.shopify.order.binding"].create(
                {
                    "backend_id": backend.id,
                    "shopify_id": data["id"],
                    "shopify_name": data["name"],
                    "sale_order_id": order.id,
                    "shopify_updated_at": data["updated_at"],
                    "lines_digest": digest,
                    "financial_status": data["financial_status"],
                }
            )
        else:
            order = binding.sale_order_id
            values = {
                "shopify_updated_at": data["updated_at"],
                "financial_status": data["financial_status"],
            }
            if digest != binding.lines_digest:
                if order.state in ("draft", "sent"):
                    self._rewrite_quotation(backend, order, data, currency)
                    values["lines_digest"] = digest
                elif order.state != "cancel":
                    self._review_changes(order, data)
                    values["lines_digest"] = digest
            binding.write(values)
        if data["cancelled_at"]:
            self._apply_cancel(backend, binding, data)
        else:
            self._check_order_total(binding, data)
            self._apply_confirmation(backend, order, data)
        if data["financial_status"] == "paid" and not binding.payment_id:
            self._register_order_payment(backend, binding, data)
        return order

    @api.model
    def _normalize(self, normalizer, payload, **kwargs):
        """``normalizer(payload)``; a payload it cannot read fails for good."""
        try:
            return normalizer(payload, **kwargs)
        except (ValueError, TypeError, AttributeError) as err:
            raise PermanentError(f"payload cannot be mapped: {err}") from err

    def _find_order_binding(self, backend, shopify_id):
        return self.env["integration.shopify.order.binding"].search(
            [("backend_id", "=", backend.id), ("shopify_id", "=", str(shopify_id))],
            limit=1,
        )

    def _create_order(self, backend, data, currency):
        values = self._prepare_order_values(backend, data, currency)
        values["order_line"] = [
            Command.create(line) for line in self._prepare_lines(backend, data, values)
        ]
        return (
            self.env["sale.order"]
            .with_company(backend.company_id)
            .with_context(mail_create_nolog=True, tracking_disable=True)
            .create(values)
        )

    def _rewrite_quotation(self, backend, order, data, currency):
        values = self._prepare_order_values(backend, data, currency)
        values.pop("date_order", None)
        lines = self._prepare_lines(backend, data, values)
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

    def _check_order_total(self, binding, data):
        """Refuse a quotation whose total is not the channel's: an order must
        never be confirmed or paid with an amount Shopify did not charge.

        :raises ReviewRequired: Odoo's total differs from ``total_price`` by more
            than the currency's rounding; the order stays a quotation with a
            review activity, and its next version is applied again
        """
        order = binding.sale_order_id
        expected = data["total_price"]
        if expected is None or order.state not in ("draft", "sent"):
            return
        currency = order.currency_id
        if (
            currency.compare_amounts(
                abs(order.amount_total - expected), currency.rounding
            )
            <= 0
        ):
            return
        # the lines are rewritten again by the next version or a replay
        binding.lines_digest = False
        reason = self.env._(
            "Odoo's total %(odoo)s differs from Shopify's total %(shopify)s "
            "(%(currency)s); check the tax mapping and the order lines",
            odoo=f"{order.amount_total:.{currency.decimal_places}f}",
            shopify=f"{expected:.{currency.decimal_places}f}",
            currency=currency.name,
        )
        self._schedule_review(
            order,
            self.env._("Shopify order %s: total differs from Shopify", data["name"]),
            [reason],
        )
        raise ReviewRequired(reason, record=order)

    def _review_changes(self, order, data):
        """A confirmed order changed in Shopify: ask someone instead of altering it."""
        old = {
            line.shopify_line_id: (
                line.product_id.default_code or "",
                line.product_uom_qty,
                line.price_unit,
            )
            for line in order.order_line
            if line.shopify_line_id
        }
        changes = mapping.describe_changes(old, data) or [
            self.env._("shipping, address or taxes changed")
        ]
        self._schedule_review(
            order,
            self.env._("Shopify order %s changed after confirmation", data["name"]),
            changes,
        )

    def _schedule_review(self, order, summary, details=()):
        """A to-do for the order's salesperson; once per open summary."""
        existing = order.activity_ids.filtered(lambda act: act.summary == summary)
        if existing:
            return existing[:1]
        note = (
            "<ul>%s</ul>" % "".join(f"<li>{detail}</li>" for detail in details)
            if details
            else ""
        )
        return order.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=note,
            user_id=order.user_id.id or self.env.uid,
        )

    def _apply_confirmation(self, backend, order, data):
        if order.state not in ("draft", "sent"):
            return
        policy = backend.shopify_confirm_policy
        if policy == "confirm" or (
            policy == "paid"
            and data["financial_status"] in ("paid", "partially_refunded", "refunded")
        ):
            order.action_confirm()

    def _register_order_payment(self, backend, binding, data):
        """Record the customer's payment of a paid order, once: an inbound
        payment of the order total in the journal of its first mapped gateway.
        Orders paid through unmapped gateways get no payment."""
        rows = backend.shopify_payment_map_ids
        mapping_row = next(
            (
                row
                for gateway in data["gateways"]
                for row in rows
                if row.gateway == gateway
            ),
            None,
        )
        if mapping_row is None or not data["total_price"]:
            return None
        order = binding.sale_order_id
        payment = (
            self.env["account.payment"]
            .with_company(order.company_id)
            .create(
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": order.partner_invoice_id.commercial_partner_id.id,
                    "amount": data["total_price"],
                    "currency_id": order.currency_id.id,
                    "journal_id": mapping_row.journal_id.id,
                    "memo": order.client_order_ref or order.name,
                }
            )
        )
        payment.action_post()
        binding.payment_id = payment
        order.message_post(
            body=self.env._(
                "Payment %(payment)s recorded: paid in Shopify through %(gateway)s.",
                payment=payment.name,
                gateway=mapping_row.gateway,
            )
        )
        return payment

    def _apply_cancel(self, backend, binding, data):
        if binding.cancelled:
            return
        order = binding.sale_order_id
        binding.cancelled = True
        delivered = any(line.qty_delivered for line in order.order_line)
        if not delivered and order.state != "cancel":
            order.with_context(disable_cancel_warning=True)._action_cancel()
            order.message_post(
                body=self.env._(
                    "Cancelled in Shopify (%s).", data["cancel_reason"] or "-"
                )
            )
        elif delivered:
            self._schedule_review(
                order,
                self.env._("Shopify order %s cancelled after delivery", data["name"]),
                [self.env._("reason: %s", data["cancel_reason"] or "-")],
            )

    # -- order values ----------------------------------------------------------------
    def _prepare_order_values(self, backend, data, currency):
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
        if backend.shopify_team_id:
            values["team_id"] = backend.shopify_team_id.id
        return values

    def _find_warehouse(self, backend, data):
        if data["location_id"]:
            location = backend.shopify_location_ids.filtered(
                lambda loc: loc.shopify_location_id == data["location_id"]
            )[:1]
            if location:
                return location.warehouse_id
        return backend.shopify_warehouse_id or self.env["stock.warehouse"].search(
            [("company_id", "=", backend.company_id.id)], limit=1
        )

    def _find_currency(self, backend, code):
        if not code:
            return backend.company_id.currency_id
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", code.upper())], limit=1)
        )
        if not currency:
            raise PermanentError(f"unknown currency {code}")
        if not currency.active:
            currency.sudo().active = True
        return currency

    def _find_pricelist(self, backend, currency):
        pricelist = backend.shopify_pricelist_id
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
                "name": f"Shopify {currency.name}",
                "currency_id": currency.id,
                "company_id": backend.company_id.id,
            }
        )

    # -- partners --------------------------------------------------------------------
    def _find_partners(self, backend, data):
        """``(customer, invoice address, delivery address)`` of an order."""
        customer = data["customer"]
        if customer["guest"] and backend.shopify_guest_partner_id:
            partner = backend.shopify_guest_partner_id
        else:
            partner = self._find_customer(backend, customer) or self._create_customer(
                customer, data["billing_address"] or data["shipping_address"]
            )
        invoice = self._find_address(partner, data["billing_address"], "invoice")
        shipping = self._find_address(partner, data["shipping_address"], "delivery")
        return partner, invoice, shipping

    def _find_customer(self, backend, customer):
        """Match by email, then by phone."""
        Partner = self.env["res.partner"]
        company_domain = [
            ("company_id", "in", (False, backend.company_id.id)),
            ("parent_id", "=", False),
        ]
        if customer["email"]:
            partner = Partner.search(
                [("email", "=ilike", customer["email"])] + company_domain, limit=1
            )
            if partner:
                return partner
        if customer["phone"]:
            partner = Partner.search(
                [("phone", "=", customer["phone"])] + company_domain, limit=1
            )
            if partner:
                return partner
        return Partner

    def _create_customer(self, customer, address):
        values = self._prepare_address_values(address) if address else {}
        values.update(
            name=customer["name"]
            or (address or {}).get("name")
            or self.env._("Shopify customer"),
            email=customer["email"] or False,
            phone=customer["phone"] or values.get("phone") or False,
        )
        values.pop("type", None)
        return self.env["res.partner"].create(values)

    def _prepare_address_values(self, address):
        country = self.env["res.country"]
        state = self.env["res.country.state"]
        if address["country_code"]:
            country = country.search([("code", "=", address["country_code"])], limit=1)
        if country and address["state_code"]:
            state = state.search(
                [("country_id", "=", country.id), ("code", "=", address["state_code"])],
                limit=1,
            )
        return {
            "name": address["name"],
            "street": address["street"] or False,
            "street2": address["street2"] or False,
            "city": address["city"] or False,
            "zip": address["zip"] or False,
            "country_id": country.id or False,
            "state_id": state.id or False,
            "phone": address["phone"] or False,
        }

    def _find_address(self, partner, address, address_type):
        """The partner itself when the address is its own, else a (reused) child."""
        if not address:
            return partner
        values = self._prepare_address_values(address)

        def same(record):
            return all(
                (record[f].id if f.endswith("_id") else record[f])
                == (values[f] or False)
                for f in ADDRESS_FIELDS
            )

        if same(partner):
            return partner
        for child in partner.child_ids:
            if child.type == address_type and same(child):
                return child
        values.update(
            parent_id=partner.id, type=address_type, email=address["email"] or False
        )
        return self.env["res.partner"].create(values)

    # -- lines -----------------------------------------------------------------------
    def _prepare_lines(self, backend, data, order_values):
        products = self._find_products(backend, data["lines"])
        taxes = {}
        lines = []
        discounts = {}
        for line in data["lines"]:
            product = products[line["line_id"]]
            tax_ids = self._find_taxes(
                backend, line["taxes"], data["taxes_included"], taxes
            )
            values = {
                "product_id": product.id,
                "name": line["name"] or product.display_name,
                "product_uom_qty": line["quantity"],
                "price_unit": line["price_unit"],
                "tax_id": [Command.set(tax_ids)],
                "shopify_line_id": line["line_id"],
            }
            if line["discount_amount"]:
                if backend.shopify_discount_policy == "line":
                    values["discount"] = line["discount_percent"]
                else:
                    key = tuple(sorted(tax_ids))
                    discounts[key] = discounts.get(key, 0.0) + line["discount_amount"]
            lines.append(values)
        for tax_ids, amount in discounts.items():
            product = backend._shopify_get_discount_product()
            lines.append(
                {
                    "product_id": product.id,
                    "name": self.env._("Discount"),
                    "product_uom_qty": 1,
                    "price_unit": -amount,
                    "tax_id": [Command.set(list(tax_ids))],
                }
            )
        for shipping in data["shipping"]:
            product = backend._shopify_get_shipping_product()
            lines.append(
                {
                    "product_id": product.id,
                    "name": shipping["title"],
                    "product_uom_qty": 1,
                    "price_unit": shipping["price"],
                    "tax_id": [
                        Command.set(
                            self._find_taxes(
                                backend,
                                shipping["taxes"],
                                data["taxes_included"],
                                taxes,
                            )
                        )
                    ],
                    "shopify_line_id": f"shipping:{shipping['line_id']}",
                }
            )
        return lines

    def _find_products(self, backend, lines):
        """``{line_id: product}``; SKUs match ``default_code``, variants their binding."""
        skus = {line["sku"] for line in lines if line["sku"]}
        variants = {line["variant_id"] for line in lines if line["variant_id"]}
        by_sku = {}
        if skus:
            for product in self.env["product.product"].search(
                [
                    ("default_code", "in", list(skus)),
                    ("company_id", "in", (False, backend.company_id.id)),
                ]
            ):
                by_sku.setdefault(product.default_code, product)
        by_variant = {}
        if variants:
            for binding in self.env["integration.shopify.product.binding"].search(
                [
                    ("backend_id", "=", backend.id),
                    ("shopify_variant_id", "in", list(variants)),
                ]
            ):
                by_variant[binding.shopify_variant_id] = binding.product_id
        result = {}
        missing = []
        for line in lines:
            product = by_sku.get(line["sku"]) or by_variant.get(line["variant_id"])
            if not product:
                if backend.shopify_missing_sku_policy != "create":
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
        product = self.env["product.product"].create(
            {
                "name": line["title"] or line["sku"],
                "default_code": line["sku"] or False,
                "list_price": line["price_unit"],
                "type": "consu",
                "is_storable": True,
                "sale_ok": True,
            }
        )
        if line["variant_id"]:
            self.env["integration.shopify.product.binding"].create(
                {
                    "backend_id": backend.id,
                    "product_id": product.id,
                    "shopify_variant_id": line["variant_id"],
                }
            )
        return product

    def _find_taxes(self, backend, tax_keys, taxes_included, cache):
        tax_ids = []
        for key in tax_keys:
            cache_key = (key, taxes_included)
            if cache_key not in cache:
                cache[cache_key] = self._find_tax(backend, key, taxes_included)
            if cache[cache_key]:
                tax_ids.append(cache[cache_key])
        return tax_ids

    def _find_tax(self, backend, key, taxes_included):
        """Odoo tax id of a Shopify ``TaxKey``: the mapping table, then the fallback."""
        for row in backend.shopify_tax_map_ids:
            if row.title == key.title and round(row.rate, 4) == round(key.rate, 4):
                return row.tax_id.id
        policy = backend.shopify_tax_fallback
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
            f"no Odoo tax for Shopify tax {key.title!r} at {key.rate:g}%; "
            "add it to the backend's tax mapping and retry"
        )

    # -- refunds ---------------------------------------------------------------------
    @api.model
    def _import_refund(self, backend, payload):
        """Credit note for the refunded lines and shipping; return picking for
        the restocked ones; a review activity on the order."""
        data = self._normalize(mapping.normalize_refund, payload)
        binding = self._find_order_binding(backend, data["order_id"])
        if not binding:
            raise DependencyNotReady(f"order {data['order_id']} not imported yet")
        order = binding.sale_order_id
        ref = f"Shopify refund {data['id']}"
        existing = self.env["account.move"].search(
            [
                ("ref", "=", ref),
                ("move_type", "=", "out_refund"),
                ("company_id", "=", order.company_id.id),
            ],
            limit=1,
        )
        if existing or data["id"] in (binding.refund_ids or []):
            return existing or order
        lines_by_id = {
            line.shopify_line_id: line
            for line in order.order_line
            if line.shopify_line_id
        }
        credit_lines = []
        restock = []
        for item in data["lines"]:
            sale_line = lines_by_id.get(item["line_item_id"])
            if not sale_line:
                raise PermanentError(
                    f"refund {data['id']}: unknown line item {item['line_item_id']}"
                )
            if item["quantity"] > 0:
                credit_lines.append(
                    self._prepare_refund_line(sale_line, item["quantity"])
                )
            if item["restock"]:
                restock.append((sale_line, item["quantity"]))
        if data["shipping_amount"]:
            shipping_line = order.order_line.filtered(
                lambda line: (line.shopify_line_id or "").startswith("shipping:")
            )[:1]
            values = {
                "product_id": backend._shopify_get_shipping_product().id,
                "name": self.env._("Shipping refund"),
                "quantity": 1,
                "price_unit": data["shipping_amount"],
                "tax_ids": [Command.set(shipping_line.tax_id.ids)],
            }
            if shipping_line:
                values["sale_line_ids"] = [Command.set(shipping_line.ids)]
            credit_lines.append(values)
        credit_note = self.env["account.move"]
        if credit_lines:
            credit_note = self._create_credit_note(
                backend, order, data, ref, credit_lines
            )
        details = [credit_note.display_name] if credit_note else []
        unreturned = self._create_returns(order, restock) if restock else []
        details += [
            self.env._(
                "%(qty)s x %(product)s could not be returned: nothing delivered",
                qty=qty,
                product=line.product_id.display_name,
            )
            for line, qty in unreturned
        ]
        binding.refund_ids = (binding.refund_ids or []) + [data["id"]]
        self._schedule_review(
            order,
            self.env._(
                "Shopify refund %(refund)s on %(order)s",
                refund=data["id"],
                order=binding.shopify_name,
            ),
            details,
        )
        return credit_note or order

    def _prepare_refund_line(self, sale_line, quantity):
        return {
            "product_id": sale_line.product_id.id,
            "name": sale_line.name,
            "quantity": quantity,
            "price_unit": sale_line.price_unit,
            "discount": sale_line.discount,
            "tax_ids": [Command.set(sale_line.tax_id.ids)],
            "sale_line_ids": [Command.set(sale_line.ids)],
        }

    def _create_credit_note(self, backend, order, data, ref, lines):
        move = (
            self.env["account.move"]
            .with_company(order.company_id)
            .with_context(default_move_type="out_refund")
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": order.partner_invoice_id.id,
                    "currency_id": order.currency_id.id,
                    "invoice_origin": order.name,
                    "ref": ref,
                    "invoice_line_ids": [Command.create(line) for line in lines],
                }
            )
        )
        if backend.shopify_post_refunds:
            move.action_post()
            self._register_refund_payments(backend, move, data)
        return move

    def _register_refund_payments(self, backend, move, data):
        """Pay the posted credit note through the journal of each refund gateway."""
        for transaction in data["transactions"]:
            if transaction["kind"] != "refund" or transaction["status"] not in (
                "success",
                "",
            ):
                continue
            mapping_row = backend.shopify_payment_map_ids.filtered(
                lambda row, gw=transaction["gateway"]: row.gateway == gw
            )[:1]
            if not mapping_row or move.payment_state in ("paid", "in_payment"):
                continue
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=move.ids
            ).create(
                {
                    "journal_id": mapping_row.journal_id.id,
                    "amount": min(transaction["amount"], move.amount_residual),
                }
            )._create_payments()

    def _create_returns(self, order, restock):
        """Return pickings for ``[(sale_line, qty)]``; returns what could not be."""
        unreturned = []
        by_picking = {}
        for sale_line, quantity in restock:
            remaining = quantity
            moves = sale_line.move_ids.filtered(
                lambda m: m.state == "done" and m.picking_code == "outgoing"
            )
            for move in moves:
                qty = min(remaining, move.quantity)
                if qty <= 0:
                    continue
                by_picking.setdefault(move.picking_id, []).append((move, qty))
                remaining -= qty
            if remaining > 0:
                unreturned.append((sale_line, remaining))
        for picking, moves in by_picking.items():
            wizard = (
                self.env["stock.return.picking"]
                .with_context(active_id=picking.id, active_model="stock.picking")
                .create({"picking_id": picking.id})
            )
            quantities = {move.id: qty for move, qty in moves}
            for line in wizard.product_return_moves:
                line.quantity = quantities.get(line.move_id.id, 0.0)
            wizard.action_create_returns()
        return unreturned
