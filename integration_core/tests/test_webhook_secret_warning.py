"""A backend without webhook secret says so: on its form, and in the line the
webhook route logs when it refuses a delivery for that reason."""

import json

from odoo.tests import Form, tagged

from .common_webhook import WebhookCase, new_whsec

WEBHOOK_LOGGER = "odoo.addons.integration_core.controllers.webhook"


@tagged("post_install", "-at_install")
class TestWebhookSecretWarning(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.unsigned = cls.env["integration.backend"].create({"name": "No secret"})

    def test_form_warns_until_a_secret_is_set(self):
        self.assertTrue(self.unsigned.webhook_secret_missing)
        self.assertFalse(self.backend.webhook_secret_missing)
        arch = self.env["integration.backend"].get_views([(False, "form")])
        self.assertIn("No webhook secret is set", arch["views"]["form"]["arch"])
        with Form(self.unsigned) as form:
            self.assertTrue(form.webhook_secret_missing)
        self.unsigned.webhook_secret = new_whsec()
        self.unsigned.invalidate_recordset()
        self.assertFalse(self.unsigned.webhook_secret_missing)

    def test_refusal_log_line_says_no_secret_is_set(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(body, secret=new_whsec())
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING") as logs:
            response = self.post(body, headers, backend=self.unsigned)
        self.assertEqual(response.status_code, 401)
        [line] = logs.output
        self.assertIn(f"integration.backend {self.unsigned.id}", line)
        self.assertIn("no webhook secret is set on this backend", line)

    def test_refusal_with_a_secret_set_does_not_blame_the_secret(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(body, secret=new_whsec())
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING") as logs:
            self.post(body, headers)
        self.assertNotIn("no webhook secret is set", logs.output[0])
