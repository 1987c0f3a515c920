"""Stripe events pulled back: the scheduled reconciliation of the core.

``GET /v1/events`` lists the events of the period (newest first, page after
page with ``starting_after`` while ``has_more``), only of the types this
connector handles. An event whose id was already received (the webhook's
idempotency key) is ``ok``; any other is ``missing``, and healing receives it
as the webhook would have been: same topic, payload, key, sequence key and
event time, so it is processed once and a late webhook of it is a duplicate.
Stripe keeps events for 30 days: a longer gap is replayed from its dashboard.
"""

import calendar

from odoo import models

from .integration_backend_inbound import FEE_TOPIC

# Stripe's maximum of ``types[]`` values per request
MAX_EVENT_TYPES = 20


class IntegrationBackend(models.Model):
    # one model, split by role like the core's integration_backend_*.py
    _inherit = "integration.backend"  # pylint: disable=consider-merging-classes-inherited

    def _reconcile(self, date_from, date_to):
        """Events Stripe sent over ``[date_from, date_to]`` that Odoo never
        received (missing) or did (ok), as inbox arguments."""
        if not self._is_stripe():
            return super()._reconcile(date_from, date_to)
        events = self._stripe_fetch_events(date_from, date_to)
        keys = [str(event["id"]) for event in events]
        received = set(
            self.env["integration.inbox.message"]
            .search([("backend_id", "=", self.id), ("idempotency_key", "in", keys)])
            .mapped("idempotency_key")
        )
        items = []
        for event in reversed(events):  # oldest first: healed in Stripe's order
            item = self._stripe_reconcile_item(event)
            item["status"] = "ok" if item["idempotency_key"] in received else "missing"
            items.append(item)
        return items

    def _stripe_reconcile_item(self, event):
        """The inbox arguments of ``event``, read by the webhook's own hooks."""
        headers = {}
        return {
            "topic": self._get_topic(event, headers),
            "payload": event,
            "idempotency_key": self._get_idempotency_key(event, headers),
            "external_ref": self._get_external_ref(event, headers),
            "sequence_key": self._get_sequence_key(event, headers),
            "event_at": self._get_event_at(event, headers),
        }

    def _stripe_reconcile_event_types(self):
        """The event types pulled: those with a handler (not internal topics)."""
        return sorted(set(self._get_inbox_handler_methods()) - {FEE_TOPIC})

    def _stripe_events_page_size(self):
        """Events asked per page (Stripe's maximum)."""
        return 100

    def _stripe_fetch_events(self, date_from, date_to):
        """Every handled event created in ``[date_from, date_to]`` (either may
        be None), newest first as Stripe lists them; a 429 waits and asks
        again (:meth:`_stripe_list_page`), any other failure fails the run."""
        params = {"limit": self._stripe_events_page_size()}
        if date_from:
            params["created[gte]"] = calendar.timegm(date_from.utctimetuple())
        if date_to:
            params["created[lte]"] = calendar.timegm(date_to.utctimetuple())
        types = self._stripe_reconcile_event_types()
        if len(types) <= MAX_EVENT_TYPES:
            # beyond, Stripe refuses the filter: all are listed, filtered here
            params["types[]"] = types
        events = self._stripe_list("v1/events", params)
        return [event for event in events if event.get("type") in types]
