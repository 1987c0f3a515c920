"""Tracking statuses move to OCA delivery_state's vocabulary (18.0.1.3.0).

``stock.picking.shipment_status`` (canonical statuses) becomes
``delivery_state``, its time ``delivery_state_at`` and its estimate
``delivery_estimated_at``; the canonical status is kept as the raw
``tracking_state``, and each tracked picking gets its parcel line, so the next
event continues from the state reached.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists

from odoo.addons.integration_core.delivery_state import CANONICAL_STATES


def migrate(cr, version):
    if not column_exists(cr, "stock_picking", "shipment_status"):
        return
    for status, state in CANONICAL_STATES.items():
        cr.execute(
            """UPDATE stock_picking
                  SET delivery_state = %s, tracking_state = shipment_status,
                      delivery_state_at = shipment_status_at,
                      delivery_estimated_at = shipment_estimated_delivery
                WHERE shipment_status = %s AND delivery_state IS NULL""",
            (state, status),
        )
    cr.execute(
        """INSERT INTO integration_tracking_line
               (picking_id, company_id, tracking_number, delivery_state,
                tracking_state, delivery_state_at, estimated_delivery,
                create_uid, create_date, write_uid, write_date)
           SELECT p.id, p.company_id, p.carrier_tracking_ref, p.delivery_state,
                  p.tracking_state, p.delivery_state_at, p.delivery_estimated_at,
                  1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
             FROM stock_picking p
            WHERE p.shipment_status IS NOT NULL
              AND p.carrier_tracking_ref IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM integration_tracking_line l
                               WHERE l.picking_id = p.id)"""
    )
    for column in (
        "shipment_status",
        "shipment_status_at",
        "shipment_estimated_delivery",
    ):
        cr.execute(
            SQL(
                "ALTER TABLE stock_picking DROP COLUMN IF EXISTS %s",
                SQL.identifier(column),
            )
        )
