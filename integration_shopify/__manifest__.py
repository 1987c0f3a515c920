# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Integration Shopify",
    "summary": "Shopify connector on top of Integration Core",
    "version": "18.0.2.0.0",
    "category": "Integrations",
    "author": "Integration Suite contributors",
    "license": "LGPL-3",
    "depends": ["integration_core", "sale_stock"],
    "data": [
        "security/ir.model.access.csv",
        "views/integration_backend_views.xml",
    ],
    "external_dependencies": {"python": ["requests>=2.25"]},
    "installable": True,
}
