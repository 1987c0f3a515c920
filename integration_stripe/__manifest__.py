# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Integration Stripe",
    "summary": "Stripe payments, refunds, disputes, fees and payouts in Odoo's books",
    "version": "18.0.1.1.0",
    "category": "Integrations",
    "author": "Integration Suite contributors",
    "license": "LGPL-3",
    "depends": ["integration_core", "account", "sale"],
    "data": [
        "security/ir.model.access.csv",
        "views/integration_backend_views.xml",
        "views/integration_stripe_dispute_views.xml",
        "views/integration_stripe_payout_views.xml",
        "views/account_payment_views.xml",
        "views/account_move_views.xml",
        "views/integration_stripe_menus.xml",
    ],
    "external_dependencies": {"python": ["requests>=2.25"]},
    "installable": True,
}
