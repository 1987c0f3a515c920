from odoo import models
from odoo.http import request

from ..intake_rules import WEBHOOK_ROUTING_TYPE


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        """The webhook route has no session, user, language, website or
        tracking cookie to resolve: only its dispatcher's preparation runs (the
        route's body limit), not the other modules' hooks, which cost a webhook
        as much as storing it."""
        if rule.endpoint.routing["type"] == WEBHOOK_ROUTING_TYPE:
            request.dispatcher.pre_dispatch(rule, args)
            return
        super()._pre_dispatch(rule, args)

    @classmethod
    def _post_dispatch(cls, response):
        """See :meth:`_pre_dispatch`."""
        if request.dispatcher.routing_type == WEBHOOK_ROUTING_TYPE:
            request.dispatcher.post_dispatch(response)
            return
        super()._post_dispatch(response)
