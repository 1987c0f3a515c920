from odoo import api, models


class IntegrationCachedMixin(models.AbstractModel):
    """For configuration read on hot paths through ``ormcache`` (the webhook
    intake, event publishing): any change clears the registry's caches, which
    Odoo signals to every worker at the start of its next request."""

    _name = "integration.cached.mixin"
    _description = "Integration Configuration Read Through Caches"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
