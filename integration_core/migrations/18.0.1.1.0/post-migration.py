"""Drop the message indexes 18.0.1.1.0 no longer declares.

Odoo keeps the index of a field that stops being indexed; these ones only cost
every received and sent message a write (see integration.message.mixin).
"""

from odoo.tools import SQL

# indexes of integration.message.mixin fields, on both message tables
MIXIN_COLUMNS = (
    "backend_id",
    "company_id",
    "topic",
    "idempotency_key",
    "res_model",
    "res_id",
)
DROPPED_INDEXES = {
    "integration_inbox_message": MIXIN_COLUMNS + ("sequence_key",),
    "integration_outbox_message": MIXIN_COLUMNS,
}


def migrate(cr, version):
    for table, columns in DROPPED_INDEXES.items():
        for column in columns:
            cr.execute(
                SQL(
                    "DROP INDEX IF EXISTS %s",
                    SQL.identifier(f"{table}__{column}_index"),
                )
            )
