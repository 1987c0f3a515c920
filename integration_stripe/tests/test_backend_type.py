from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestBackendType(TransactionCase):
    def test_backend_type_receives_messages(self):
        backend = self.env["integration.backend"].create(
            {"name": "Stripe", "backend_type": "stripe"}
        )
        message, created = backend._inbox_receive("integration.ping", {}, "ping-1")
        self.assertTrue(created)
        self.assertEqual(message._job_process(), "done")
        self.assertEqual(
            message.backend_id._get_inbox_channel(), "root.integration.stripe.inbound"
        )
