"""Delivery states of a parcel and of a delivery order: OCA ``delivery_state``'s
vocabulary, the canonical statuses that lead to each, and the forward-only
state machine every carrier's events go through.

Plain Python without the ORM, so the rules are tested without a database. The
shipment importer applies them per tracking line (one per parcel) and derives
the picking's state from its lines with :func:`aggregate`.
"""

SHIPPING_RECORDED = "shipping_recorded_in_carrier"
IN_TRANSIT = "in_transit"
CANCELED = "canceled_shipment"
INCIDENCE = "incidence"
CUSTOMER_DELIVERED = "customer_delivered"
WAREHOUSE_DELIVERED = "warehouse_delivered"
NO_UPDATE = "no_update"

# the selection of ``delivery_state``, as OCA ``delivery_state`` declares it
DELIVERY_STATES = [
    (SHIPPING_RECORDED, "Shipping recorded in carrier"),
    (IN_TRANSIT, "In transit"),
    (CANCELED, "Canceled shipment"),
    (INCIDENCE, "Incidence"),
    (CUSTOMER_DELIVERED, "Customer delivered"),
    (WAREHOUSE_DELIVERED, "Warehouse delivered"),
    (NO_UPDATE, "No more updates from carrier"),
]

# canonical ``shipment.event`` status -> delivery state
CANONICAL_STATES = {
    "label_created": SHIPPING_RECORDED,
    "in_transit": IN_TRANSIT,
    "out_for_delivery": IN_TRANSIT,
    "available_for_pickup": WAREHOUSE_DELIVERED,
    "delivered": CUSTOMER_DELIVERED,
    "failed_attempt": INCIDENCE,
    "exception": INCIDENCE,
    "returned": INCIDENCE,
    "cancelled": CANCELED,
    "unknown": NO_UPDATE,
}

# Progress of each state: an event moves a parcel forward, or sideways at the
# same rank when it is newer. An incidence is a problem on the way (same rank
# as in transit: a parcel goes back and forth between them); a cancelled label
# can still be overtaken by a scan of the parcel; "no update" never overrides
# what is known.
RANKS = {
    NO_UPDATE: 0,
    SHIPPING_RECORDED: 10,
    CANCELED: 15,
    IN_TRANSIT: 20,
    INCIDENCE: 20,
    WAREHOUSE_DELIVERED: 30,
    CUSTOMER_DELIVERED: 40,
}

# The only moves back, when the event is newer: a parcel returned to sender,
# or a failure reported after the delivery (or after it reached a pickup point).
ALLOWED_REGRESSIONS = frozenset(
    {
        (CUSTOMER_DELIVERED, INCIDENCE),
        (WAREHOUSE_DELIVERED, INCIDENCE),
    }
)

# changes worth telling people about on the picking's chatter (progress in
# transit is in the tracking history)
SIGNIFICANT_STATES = frozenset(
    {CUSTOMER_DELIVERED, WAREHOUSE_DELIVERED, INCIDENCE, CANCELED}
)

# outcomes of :func:`decide`
APPLIED = "applied"
STALE = "stale"
REFUSED = "refused"


def state_of(status, table=None):
    """The delivery state of a canonical status (``no_update`` if unknown).

    :param table: a mapping replacing :data:`CANONICAL_STATES`
    """
    return (table or CANONICAL_STATES).get(status, NO_UPDATE)


def rank(state):
    return RANKS.get(state, 0) if state else -1


def decide(current, current_at, new, new_at, regressions=ALLOWED_REGRESSIONS):
    """Whether an event of state ``new`` at ``new_at`` replaces ``current``
    (reached by an event at ``current_at``).

    :returns: :data:`APPLIED` (the parcel moves to ``new``), :data:`STALE` (an
        older event of the same progress: kept as history) or :data:`REFUSED`
        (it would move the parcel back: recorded, not applied)
    """
    if not current:
        return APPLIED
    newer = current_at is None or new_at is None or new_at >= current_at
    if not newer and (new, current) in regressions:
        # a late delivery scan: the newer incidence (a return) came after it
        return STALE
    if rank(new) > rank(current):
        return APPLIED
    if rank(new) == rank(current):
        return APPLIED if newer else STALE
    if newer and (current, new) in regressions:
        return APPLIED
    return REFUSED


def aggregate(states):
    """The delivery order's state from its parcels' states: delivered when every
    parcel is, an incidence when any has one, else the least advanced parcel's
    (cancelled parcels count only when all are cancelled). A parcel without
    event yet counts as recorded at the carrier.

    :returns: a state, or False when no parcel has one
    """
    states = list(states)
    if not any(states):
        return False
    states = [state or SHIPPING_RECORDED for state in states]
    active = [state for state in states if state != CANCELED] or states
    if INCIDENCE in active:
        return INCIDENCE
    return min(active, key=rank)


def is_delivered(state):
    return state == CUSTOMER_DELIVERED
