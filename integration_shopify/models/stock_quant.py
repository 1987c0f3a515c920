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
        # one waiting message per item and location is enough in a transaction:
        # its level is read when it is sent
        waiting = self.env.cr.precommit.data.setdefault("shopify_inventory_waiting", {})
        for binding in bindings:
            backend = binding.backend_id
            for location in backend.shopify_location_ids.filtered("export_inventory"):
                key = (backend.id, binding.id, location.id)
                if key in waiting and self._shopify_still_waiting(waiting[key]):
                    continue
                waiting[key] = backend._shopify_enqueue_inventory_level(
                    binding, location
                ).id

    def _shopify_still_waiting(self, message_id):
        """Whether the level message ``message_id`` is still to be sent as it
        is (not sent, attempted or undone since it was queued)."""
        self.env["integration.outbox.message"].flush_model()
        self.env.cr.execute(
            "SELECT 1 FROM integration_outbox_message"
            " WHERE id = %s AND state = 'pending' AND attempt_count = 0",
            (message_id,),
        )
        return bool(self.env.cr.fetchone())
