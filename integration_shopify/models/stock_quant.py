from odoo import api, models


class StockQuant(models.Model):
    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        # Every change of on-hand or reserved quantity goes through here (a
        # reservation calls it with ``reserved_quantity``), so the free stock
        # Shopify shows follows reservations too, not only done moves.
        result = super()._update_available_quantity(
            product_id, location_id, *args, **kwargs
        )
        if location_id.usage == "internal":
            self._shopify_enqueue_inventory(product_id)
        return result

    @api.model
    def _shopify_enqueue_inventory(self, products):
        """Free stock of ``products`` changed: queue a level per inventory
        item and mapped location. The level is read when the message is sent,
        and a newer message takes the place of a waiting one (coalesce key),
        so a burst of changes sends one call per item and location."""
        bindings = (
            self.env["integration.shopify.product.binding"]
            .sudo()
            .search(
                [
                    ("product_id", "in", products.ids),
                    ("inventory_item_id", "!=", False),
                    ("export_inventory", "=", True),
                    ("backend_id.active", "=", True),
                ]
            )
        )
        # the same level asked again in this transaction is one SELECT: the
        # core keeps the waiting message (integration.outbox.message._enqueue)
        for binding in bindings:
            backend = binding.backend_id
            for location in backend.shopify_location_ids.filtered("export_inventory"):
                backend._shopify_enqueue_inventory_level(binding, location)
