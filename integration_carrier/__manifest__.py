# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Integration Carrier",
    "summary": "Shipping carriers on top of Integration Core: labels through the "
    "outbox, tracking events onto transfers",
    "version": "18.0.1.1.0",
    "category": "Integrations",
    "author": "Integration Suite contributors",
    "license": "LGPL-3",
    "depends": ["integration_core", "stock_delivery"],
    "data": [
        "security/ir.model.access.csv",
        "views/integration_backend_views.xml",
        "views/delivery_carrier_views.xml",
        "views/stock_picking_views.xml",
    ],
    "installable": True,
}
