"""The attempt log without access log columns, its links indexed without NULLs
(18.0.1.7.0).

Odoo neither drops the access log columns of a model that stops logging access
nor replaces an index whose kind changes under the same name: the columns go
here, and the indexes, which Odoo then creates again without NULLs.
"""

from odoo.tools import SQL

TABLE = "integration_message_attempt"
DROPPED_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")
REINDEXED_LINKS = ("inbox_message_id", "outbox_message_id", "event_delivery_id")


def migrate(cr, version):
    cr.execute(
        SQL(
            "ALTER TABLE %s %s",
            SQL.identifier(TABLE),
            SQL(", ").join(
                SQL("DROP COLUMN IF EXISTS %s", SQL.identifier(column))
                for column in DROPPED_COLUMNS
            ),
        )
    )
    for column in REINDEXED_LINKS:
        cr.execute(
            SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f"{TABLE}__{column}_index"))
        )
