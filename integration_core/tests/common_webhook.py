"""Helpers for webhook tests: a generic backend with a Standard Webhooks secret."""

import base64
import json
import time
import uuid

from odoo.tests import HttpCase

from odoo.addons.integration_core.signatures import sign_standard_webhook


def new_whsec():
    return "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


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
        return f"/integration/webhook/{(backend or self.backend).webhook_token}"

    def event(self, event_type="order.created", obj_id="42", **data):
        return {
            "type": event_type,
            "timestamp": "2026-01-02T03:04:05Z",
            "data": dict(data, id=obj_id),
        }

    def signed_headers(self, body, msg_id=None, timestamp=None, secret=None, **extra):
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_standard_webhook(
                secret or self.secret, msg_id, timestamp, body
            ),
        }
        headers.update(extra)
        return headers

    def post(self, body, headers=None, backend=None):
        if not isinstance(body, bytes | str):
            body = json.dumps(body).encode()
        # url_open turns an empty body into a GET: post explicitly
        return self.opener.post(
            self.base_url() + self.url(backend),
            data=body,
            headers=headers or {},
            timeout=30,
        )

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
