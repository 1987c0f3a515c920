"""Drop the inbox indexes that read a message's state (18.0.1.6.0).

A message's outcome then updates its row in place (a HOT update), without new
index entries; ``init()`` recreates the sequence index without the state in
its condition. Odoo keeps the index of a field that stops being indexed.
"""

from odoo.tools import SQL

DROPPED_INDEXES = (
    "integration_inbox_message__state_index",
    "integration_inbox_message_sequence_idx",
)


def migrate(cr, version):
    for name in DROPPED_INDEXES:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))
