from odoo import models


class StockMove(models.Model):
    _inherit = "stock.move"

    def _action_done(self, cancel_backorder=False):
        moves = super()._action_done(cancel_backorder=cancel_backorder)
        moves._shopify_enqueue_inventory()
        return moves

    def _shopify_enqueue_inventory(self):
        """Stock of bound products changed: queue a level per inventory item and
        mapped location. The level is read when the message is sent, and newer
        messages supersede pending ones (coalesce key), so a burst of moves
        sends one call per item and location."""
        products = self.filtered(lambda m: m.state == "done").product_id
        if not products:
            return
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
        for binding in bindings:
            backend = binding.backend_id
            for location in backend.shopify_location_ids.filtered("export_inventory"):
                backend._shopify_enqueue_inventory_level(binding, location)
