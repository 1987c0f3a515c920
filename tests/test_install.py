from odoo.tests import TransactionCase, tagged

SUITE_MODULES = (
    "integration_suite",
    "integration_core",
    "integration_shopify",
    "integration_stripe",
    "integration_carrier",
)


@tagged("post_install", "-at_install")
class TestSuiteInstalled(TransactionCase):
    def test_suite_and_dependencies_installed(self):
        modules = self.env["ir.module.module"].search([("name", "in", SUITE_MODULES)])
        self.assertEqual(
            {module.name: module.state for module in modules},
            dict.fromkeys(SUITE_MODULES, "installed"),
        )

    def test_suite_is_an_application(self):
        suite = self.env["ir.module.module"].search(
            [("name", "=", "integration_suite")]
        )
        self.assertTrue(suite.application)
        self.assertEqual(suite.shortdesc, "Integration Suite")
