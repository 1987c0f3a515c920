"""Shared fixtures for integration_core tests and for connector tests."""

from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase

from odoo.addons.queue_job.tests.common import trap_jobs  # noqa: F401  (re-exported)


class IntegrationCase(TransactionCase):
    """A generic backend, a fast retry policy and handlers installed per test.

    ``self.handlers`` maps topics to callables ``handler(message)``; the patched
    ``_get_inbox_handler`` of every backend looks topics up there.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.policy = cls.env["integration.retry.policy"].create(
            {
                "name": "Test policy",
                "max_attempts": 3,
                "initial_delay": 30,
                "backoff_factor": 2.0,
                "max_delay": 600,
                "jitter": 0.1,
            }
        )
        cls.backend = cls.env["integration.backend"].create(
            {"name": "Test backend", "retry_policy_id": cls.policy.id}
        )

    def setUp(self):
        super().setUp()
        self.handlers = {}
        handlers = self.handlers

        def _get_inbox_handler(backend, topic):
            return handlers.get(topic)

        self.patch(
            type(self.env["integration.backend"]),
            "_get_inbox_handler",
            _get_inbox_handler,
        )

    def receive(self, topic="test/create", payload=None, key=None, **kwargs):
        payload = payload if payload is not None else {"id": key or "1"}
        message, created = self.backend._inbox_receive(
            topic, payload, key or f"{topic}:{payload}", **kwargs
        )
        return message

    def ignore_with_wizard(self, messages, reason):
        """Mark ``messages`` ignored (inbox) or cancelled (outbox) as a user does."""
        wizard = (
            self.env["integration.message.ignore.wizard"]
            .with_context(active_model=messages._name, active_ids=messages.ids)
            .create({"reason": reason})
        )
        wizard.action_confirm()

    def ago(self, **delta):
        return fields.Datetime.now() - timedelta(**delta)

    def partner_handler(self, message):
        """An idempotent handler: one partner per external_ref."""
        partner = self.env["res.partner"].search([("ref", "=", message.external_ref)])
        if not partner:
            partner = self.env["res.partner"].create(
                {"name": message.payload.get("name", "x"), "ref": message.external_ref}
            )
        return partner
