"""Helpers for webhook tests: a generic backend with a Standard Webhooks secret.

Built on the test kit of ``common.py``; ``new_whsec`` is re-exported from it.
"""

import json
from unittest.mock import patch

from odoo.tests import HttpCase

from .. import wsgi_intake
from .common import (
    new_whsec,
    post_webhook,
    standard_webhook_headers,
    webhook_path,
)


class WebhookCase(HttpCase):
    """Posts Standard Webhooks deliveries to a generic backend on the test server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.secret = new_whsec()
        cls.backend = cls.env["integration.backend"].create(
            {"name": "Webhook backend", "webhook_secret": cls.secret}
        )

    def url(self, backend=None):
        return webhook_path(backend or self.backend)

    def event(self, event_type="item.created", obj_id="42", **data):
        return {
            "type": event_type,
            "timestamp": "2026-01-02T03:04:05Z",
            "data": dict(data, id=obj_id),
        }

    def signed_headers(self, body, msg_id=None, timestamp=None, secret=None, **extra):
        return standard_webhook_headers(
            secret or self.secret, body, msg_id=msg_id, timestamp=timestamp, **extra
        )

    def post(self, body, headers=None, backend=None):
        return post_webhook(self, backend or self.backend, body, headers)

    def post_signed(self, payload, backend=None, **header_kwargs):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.post(
            body, self.signed_headers(body, **header_kwargs), backend=backend
        )

    def messages(self, backend=None):
        self.env.invalidate_all()
        return self.env["integration.inbox.message"].search(
            [("backend_id", "=", (backend or self.backend).id)]
        )


class OdooRouteMixin:
    """Runs a webhook test case's tests through Odoo's route, with the WSGI
    intake (which serves the same path by default) off."""

    def setUp(self):
        super().setUp()
        patcher = patch.dict(wsgi_intake.SETTINGS, enabled=False)
        patcher.start()
        self.addCleanup(patcher.stop)
