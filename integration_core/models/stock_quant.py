from odoo import api, models
from odoo.tools import SQL


class StockQuant(models.Model):
    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        if (
            self.env.context.get("integration_message_id")
            and not location_id.should_bypass_reservation()
        ):
            self._lock_quants_for_update(product_id, location_id)
        return super()._update_available_quantity(
            product_id, location_id, *args, **kwargs
        )

    @api.model
    def _lock_quants_for_update(self, product, location):
        """Lock the quants of ``product`` at ``location`` until this
        transaction ends, waiting for a transaction that holds them.

        Odoo skips a quant another transaction has locked and writes a new
        one instead; releasing a reservation then lowers whichever quant it
        locks first, clamped at zero, and the reservation held by the other
        stays for good: free stock shrinks with every such race (two jobs
        confirming orders of one product at once). In a message's job, the
        second one waits here, then meets a serialization failure once the
        first commits, and is retried as any conflict."""
        self.env.cr.execute(
            SQL(
                "SELECT id FROM stock_quant WHERE product_id = %s AND location_id = %s"
                " ORDER BY id FOR NO KEY UPDATE",
                product.id,
                location.id,
            )
        )
