from odoo import api, models


class IntegrationOutboxMessage(models.Model):
    _inherit = "integration.outbox.message"

    @api.model
    def _response_values(self, response):
        values = super()._response_values(response)
        if response is not None and "pdf" in (
            response.headers.get("Content-Type") or ""
        ):
            # a label is binary: its size says enough, the file is attached
            values["response_body"] = f"<PDF, {len(response.raw.content)} bytes>"
        return values
