"""Prometheus scrape endpoint of the integration pipeline."""

import hmac
import logging

from odoo import SUPERUSER_ID, http
from odoo.http import request

from .. import metrics

_logger = logging.getLogger(__name__)

TOKEN_PARAMETER = "integration_core.metrics_token"


class IntegrationMetricsController(http.Controller):
    @http.route(
        "/integration/metrics",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
    )
    def metrics(self):
        if not request.db:
            return request.make_response("no database\n", status=404)
        env = request.env(user=SUPERUSER_ID)
        expected = env["ir.config_parameter"].get_param(TOKEN_PARAMETER) or ""
        header = request.httprequest.headers.get("Authorization", "")
        scheme, _sep, given = header.partition(" ")
        # no configured token means the endpoint is closed, not open
        if not (
            expected
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), expected.encode())
        ):
            return request.make_response(
                "unauthorized\n",
                headers=[
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("WWW-Authenticate", 'Bearer realm="integration metrics"'),
                ],
                status=401,
            )
        body = metrics.render(env["integration.backend"]._get_metric_samples())
        return request.make_response(
            body, headers=[("Content-Type", metrics.CONTENT_TYPE)]
        )
