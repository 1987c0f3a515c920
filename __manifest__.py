# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Integration Suite",
    "summary": "Shopify, Stripe and carrier integrations on a durable message pipeline",
    "version": "18.0.1.0.0",
    "category": "Integrations",
    "author": "Integration Suite contributors",
    "license": "LGPL-3",
    "depends": [
        "integration_core",
        "integration_shopify",
        "integration_stripe",
        "integration_carrier",
    ],
    "data": [],
    "application": True,
    "installable": True,
}
