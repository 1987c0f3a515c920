# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Integration Example Connector",
    "summary": "A minimal, tested connector to copy when writing a new one",
    "version": "18.0.1.0.0",
    "category": "Integrations",
    "author": "Integration Suite contributors",
    "license": "LGPL-3",
    "depends": ["integration_core"],
    "data": ["security/ir.model.access.csv"],
    "installable": True,
}
