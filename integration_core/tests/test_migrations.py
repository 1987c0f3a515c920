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

    def test_upgrade_drops_the_indexes_reading_the_state(self):
        cr = self.env.cr
        cr.execute(
            """DROP INDEX integration_inbox_message_sequence_idx;
               CREATE INDEX integration_inbox_message__state_index
                   ON integration_inbox_message (state);
               CREATE INDEX integration_inbox_message_sequence_idx
                   ON integration_inbox_message (backend_id, sequence_key, event_at)
                   WHERE state = 'done' AND sequence_key IS NOT NULL"""
        )
        load_migration(__name__, "18.0.1.6.0", "pre-migration").migrate(
            cr, "18.0.1.5.0"
        )
        self.env["integration.inbox.message"].init()
        self.assertFalse(index_exists(cr, "integration_inbox_message__state_index"))
        cr.execute(
            """SELECT indexdef FROM pg_indexes
               WHERE indexname = 'integration_inbox_message_sequence_idx'"""
        )
        (definition,) = cr.fetchone()
        self.assertNotIn("state", definition)
        self.assertIn("sequence_key IS NOT NULL", definition)

    def test_upgrade_drops_the_attempt_access_log(self):
        cr = self.env.cr
        table = "integration_message_attempt"
        cr.execute(
            f"""ALTER TABLE {table}
                    ADD COLUMN create_uid integer REFERENCES res_users(id),
                    ADD COLUMN write_uid integer REFERENCES res_users(id),
                    ADD COLUMN create_date timestamp,
                    ADD COLUMN write_date timestamp;
                DROP INDEX {table}__outbox_message_id_index;
                CREATE INDEX {table}__outbox_message_id_index
                    ON {table} (outbox_message_id)"""
        )
        load_migration(__name__, "18.0.1.7.0", "pre-migration").migrate(
            cr, "18.0.1.6.0"
        )
        cr.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_name = %s AND column_name IN
                   ('create_uid', 'write_uid', 'create_date', 'write_date')""",
            (table,),
        )
        self.assertFalse(cr.fetchall())
        self.assertFalse(index_exists(cr, f"{table}__outbox_message_id_index"))


@tagged("post_install", "-at_install")
class TestDeliveryStateMigration(TransactionCase):
    def test_shipment_status_becomes_delivery_state(self):
        cr = self.env.cr
        warehouse = self.env["stock.warehouse"].search([], limit=1)
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": warehouse.out_type_id.id,
                "carrier_tracking_ref": "1ZMIG",
            }
        )
        cr.execute(
            "ALTER TABLE stock_picking ADD COLUMN shipment_status varchar, "
            "ADD COLUMN shipment_status_at timestamp, "
            "ADD COLUMN shipment_estimated_delivery timestamp"
        )
        cr.execute(
            "UPDATE stock_picking SET shipment_status = 'out_for_delivery', "
            "shipment_status_at = '2026-03-15 10:00:00' WHERE id = %s",
            (picking.id,),
        )
        load_migration(__name__, "18.0.1.3.0", "post-migration").migrate(
            cr, "18.0.1.2.0"
        )
        picking.invalidate_recordset()
        self.assertEqual(picking.delivery_state, "in_transit")
        self.assertEqual(picking.tracking_state, "out_for_delivery")
        self.assertEqual(str(picking.delivery_state_at), "2026-03-15 10:00:00")
        line = picking.tracking_line_ids
        self.assertEqual(line.tracking_number, "1ZMIG")
        self.assertEqual(line.delivery_state, "in_transit")
        cr.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = "
            "'stock_picking' AND column_name = 'shipment_status'"
        )
        self.assertFalse(cr.fetchall())
