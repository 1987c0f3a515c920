from odoo.tests import TransactionCase, tagged
from odoo.tools.sql import index_exists

from .common import load_migration


@tagged("post_install", "-at_install")
class TestMessageIndexes(TransactionCase):
    def test_hot_tables_keep_only_useful_indexes(self):
        cr = self.env.cr
        for table in ("integration_inbox_message", "integration_outbox_message"):
            self.assertTrue(index_exists(cr, f"{table}_record_idx"))
            self.assertTrue(index_exists(cr, f"{table}_idempotency_key_backend_unique"))
            self.assertFalse(index_exists(cr, f"{table}__topic_index"))
        self.assertTrue(index_exists(cr, "integration_inbox_message_sequence_idx"))

    def test_upgrade_drops_indexes_no_longer_declared(self):
        cr = self.env.cr
        cr.execute(
            "CREATE INDEX integration_inbox_message__topic_index "
            "ON integration_inbox_message (topic)"
        )
        load_migration(__name__, "18.0.1.1.0", "post-migration").migrate(
            cr, "18.0.1.0.0"
        )
        self.assertFalse(index_exists(cr, "integration_inbox_message__topic_index"))
