from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.integration_core import masking

from .common import IntegrationCase

PAYLOAD = {
    "id": 7,
    "email": "ann@example.com",
    "customer": {"email": "ann@example.com", "phone": "+331", "name": "Ann"},
    "addresses": [{"city": "Paris"}],
    "lines": [{"sku": "A", "card": {"last4": "4242"}}],
}


@tagged("post_install", "-at_install")
class TestMaskingFunctions(IntegrationCase):
    def test_default_paths_anywhere(self):
        masked = masking.mask_payload(
            PAYLOAD, masking.parse_paths("email\nphone\naddresses")
        )
        self.assertEqual(masked["email"], masking.MASK)
        self.assertEqual(masked["customer"]["email"], masking.MASK)
        self.assertEqual(masked["customer"]["phone"], masking.MASK)
        self.assertEqual(masked["addresses"], masking.MASK)
        self.assertEqual(masked["customer"]["name"], "Ann")
        self.assertEqual(
            PAYLOAD["email"], "ann@example.com", "the input is not changed"
        )

    def test_dotted_paths_through_lists_and_wildcards(self):
        masked = masking.mask_payload(
            PAYLOAD, masking.parse_paths("$.lines.card.last4, customer.*")
        )
        self.assertEqual(masked["lines"][0]["card"]["last4"], masking.MASK)
        self.assertEqual(masked["lines"][0]["sku"], "A")
        self.assertEqual(set(masked["customer"].values()), {masking.MASK})
        self.assertEqual(masked["email"], "ann@example.com")


@tagged("post_install", "-at_install")
class TestMaskingPerGroup(IntegrationCase):
    def test_user_sees_masked_payload_manager_sees_all(self):
        message = self.receive(payload=PAYLOAD, key="pii")
        user = new_test_user(
            self.env, "integ_user", groups="integration_core.group_integration_user"
        )
        manager = new_test_user(
            self.env,
            "integ_manager",
            groups="integration_core.group_integration_manager",
        )
        as_user = message.with_user(user).payload_pretty
        as_manager = message.with_user(manager).payload_pretty
        self.assertNotIn("ann@example.com", as_user)
        self.assertNotIn("+331", as_user)
        self.assertNotIn("Paris", as_user)
        self.assertIn('"name": "Ann"', as_user)
        self.assertIn("ann@example.com", as_manager)
        self.assertIn("Paris", as_manager)

    def test_paths_configured_per_backend(self):
        self.backend.masked_json_paths = "customer.name"
        message = self.receive(payload=PAYLOAD, key="pii2")
        user = new_test_user(
            self.env, "integ_user2", groups="integration_core.group_integration_user"
        )
        shown = message.with_user(user).payload_pretty
        self.assertNotIn("Ann", shown)
        self.assertIn("ann@example.com", shown)

    def test_raw_payload_for_managers_only(self):
        """Masking would be moot if the raw JSON were one read() or export away."""
        message = self.receive(payload=PAYLOAD, key="pii3")
        user = new_test_user(
            self.env,
            "integ_user3",
            groups="integration_core.group_integration_user,base.group_allow_export",
        )
        manager = new_test_user(
            self.env,
            "integ_manager3",
            groups="integration_core.group_integration_manager",
        )
        as_user = message.with_user(user)
        with self.assertRaises(AccessError):
            as_user.read(["payload"])
        with self.assertRaises(AccessError):
            as_user.export_data(["payload"])
        self.assertNotIn("payload", as_user.fields_get())
        (pretty,) = as_user.read(["payload_pretty"])
        self.assertNotIn("ann@example.com", pretty["payload_pretty"])
        self.assertEqual(
            message.with_user(manager).read(["payload"])[0]["payload"], PAYLOAD
        )
