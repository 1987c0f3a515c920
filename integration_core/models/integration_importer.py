import logging

from odoo import api, models

from ..exceptions import PermanentError, ReviewRequired
from .integration_correlated_mixin import CONTEXT_KEY as CORRELATION_KEY

_logger = logging.getLogger(__name__)

ADDRESS_FIELDS = ("name", "street", "street2", "city", "zip", "country_id", "state_id")


# what the importers and the invoicer write is said by the record's own
# chatter; field tracking of what a job writes is noise, and costly (an
# account.move.line write describes its tracked fields)
UNTRACKED = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True}


class IntegrationImporter(models.AbstractModel):
    """What every core importer shares: currencies, customers and addresses,
    review activities. Each business object has its importer inheriting this
    one (``integration.order.importer``, ``integration.refund.importer``,
    ``integration.payment.importer``, ``integration.shipment.importer``); each
    method takes the backend first and a validated canonical document or the
    plain values :mod:`integration_core.commerce` makes of it.

    The ``_find_*`` and ``_prepare_*`` methods are the hooks to extend: override
    them in a model inheriting the importer and call ``super()``.
    """

    _name = "integration.importer"
    _description = "Integration Importer (shared rules)"

    @api.model
    def _for_backend(self, backend):
        """This importer in the backend's company, without field tracking: the
        record's own chatter says where it came from, and tracking an import is
        noise that costs a third of its time."""
        return self.with_company(backend.company_id).with_context(**UNTRACKED)

    # -- currency ------------------------------------------------------------------
    @api.model
    def _find_currency(self, backend, code):
        """``res.currency`` of an ISO code (activated if needed); the company's
        currency when there is no code. Unknown codes fail for good."""
        company_currency = backend.company_id.currency_id
        if not code:
            return company_currency
        if code.upper() == company_currency.name and company_currency.active:
            # the usual case, without a search
            return company_currency.with_env(self.env)
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", code.upper())], limit=1)
        )
        if not currency:
            raise PermanentError(f"unknown currency {code}")
        if not currency.active:
            currency.sudo().active = True
        return currency

    # -- partners --------------------------------------------------------------------
    @api.model
    def _find_partners(self, backend, data):
        """``(customer, invoice address, delivery address)`` of an order."""
        customer = data["customer"]
        billing, delivery = data["billing_address"], data["shipping_address"]
        # the billing address is most often the delivery address too: its
        # country and state are looked up once
        prepared = {}

        def values_of(address):
            key = repr(sorted(address.items()))
            if key not in prepared:
                prepared[key] = self._prepare_address_values(address)
            return dict(prepared[key])

        if customer["guest"] and backend.guest_partner_id:
            partner = backend.guest_partner_id
        else:
            address = billing or delivery
            partner = self._find_customer(backend, customer) or self._create_customer(
                customer, address, values=values_of(address) if address else None
            )
        invoice = self._find_address(
            partner, billing, "invoice", values=billing and values_of(billing)
        )
        shipping = self._find_address(
            partner, delivery, "delivery", values=delivery and values_of(delivery)
        )
        return partner, invoice, shipping

    @api.model
    def _find_customer(self, backend, customer):
        """The company's partner of the customer: by email, then by phone."""
        Partner = self.env["res.partner"]
        company_domain = [
            ("company_id", "in", (False, backend.company_id.id)),
            ("parent_id", "=", False),
        ]
        if customer["email"]:
            partner = Partner.search(
                [("email", "=ilike", customer["email"])] + company_domain, limit=1
            )
            if partner:
                return partner
        if customer["phone"]:
            partner = Partner.search(
                [("phone", "=", customer["phone"])] + company_domain, limit=1
            )
            if partner:
                return partner
        return Partner

    @api.model
    def _create_customer(self, customer, address, values=None):
        """A new partner for the customer, at its billing (or delivery) address.

        :param values: ``_prepare_address_values(address)``, when known
        """
        if values is None:
            values = self._prepare_address_values(address) if address else {}
        values.update(
            name=customer["name"]
            or (address or {}).get("name")
            or self.env._("Customer"),
            email=customer["email"] or False,
            phone=customer["phone"] or values.get("phone") or False,
        )
        values.pop("type", None)
        return self.env["res.partner"].create(values)

    @api.model
    def _prepare_address_values(self, address):
        """``res.partner`` values of an address (see ``commerce.address_data``)."""
        country = self.env["res.country"]
        state = self.env["res.country.state"]
        if address["country_code"]:
            country = country.search([("code", "=", address["country_code"])], limit=1)
        if country and address["state_code"]:
            state = state.search(
                [("country_id", "=", country.id), ("code", "=", address["state_code"])],
                limit=1,
            )
        return {
            "name": address["name"],
            "street": address["street"] or False,
            "street2": address["street2"] or False,
            "city": address["city"] or False,
            "zip": address["zip"] or False,
            "country_id": country.id or False,
            "state_id": state.id or False,
            "phone": address["phone"] or False,
        }

    @api.model
    def _find_address(self, partner, address, address_type, values=None):
        """The partner itself when the address is its own, else a (reused) child.

        :param values: ``_prepare_address_values(address)``, when known
        """
        if not address:
            return partner
        if values is None:
            values = self._prepare_address_values(address)

        def same(record):
            return all(
                (record[f].id if f.endswith("_id") else record[f])
                == (values[f] or False)
                for f in ADDRESS_FIELDS
            )

        if same(partner):
            return partner
        for child in partner.child_ids:
            if child.type == address_type and same(child):
                return child
        values.update(
            parent_id=partner.id, type=address_type, email=address["email"] or False
        )
        return self.env["res.partner"].create(values)

    # -- correlation -----------------------------------------------------------------
    @api.model
    def _adopt_correlation(self, record):
        """Join the flow of ``record``, the existing record the document being
        imported is about (the order a payment pays, the picking a tracking
        event moves, the payment a refund or payout pays back): its correlation
        id becomes the running message's and that of what is created next, so
        one id follows an order from its first webhook to its payout.

        :param record: a record of a correlated model, possibly empty
        :returns: this importer in the context of ``record``'s correlation id;
            itself when ``record`` has none or it is already the running one
        """
        correlation_id = record[:1].integration_correlation_id if record else False
        if not correlation_id or correlation_id == self.env.context.get(
            CORRELATION_KEY
        ):
            return self
        message_id = self.env.context.get("integration_message_id")
        model = self.env.context.get("integration_message_model")
        if message_id and model:
            message = self.env[model].sudo().browse(message_id)
            _logger.info(
                "%s %s joins flow %s (was %s)",
                model,
                message_id,
                correlation_id,
                message.correlation_id,
            )
            message.correlation_id = correlation_id
        return self.with_context(**{CORRELATION_KEY: correlation_id})

    # -- events ----------------------------------------------------------------------
    @api.model
    def _publish(self, topic, backend, record, **values):
        """Publish ``topic`` about ``record``, imported through ``backend``;
        subscribers get ``{"backend_id", "model", "id", **values}``."""
        return self.env["integration.event"]._publish(
            topic,
            dict(values, backend_id=backend.id, model=record._name, id=record.id),
            record=record,
        )

    # -- people ----------------------------------------------------------------------
    @api.model
    def _schedule_review(self, record, summary, details=()):
        """A to-do on ``record`` for its salesperson (or the current user); once
        per open summary, so a redelivery or replay does not ask twice."""
        existing = record.activity_ids.filtered(lambda act: act.summary == summary)
        if existing:
            return existing[:1]
        note = (
            "<ul>%s</ul>" % "".join(f"<li>{detail}</li>" for detail in details)
            if details
            else ""
        )
        user = record.user_id if "user_id" in record._fields else None
        return record.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=note,
            user_id=(user and user.id) or self.env.uid,
        )

    @api.model
    def _check_channel_total(self, record, expected, summary, review_on=None):
        """Refuse ``record`` (a sale order, a credit note) whose ``amount_total``
        is not the channel's ``expected`` total (None: the channel gave none).

        :param review_on: where the review activity goes (default ``record``)
        :raises ReviewRequired: they differ by more than the currency's
            rounding; a review activity says both totals
        """
        currency = record.currency_id
        if expected is None or (
            currency.compare_amounts(
                abs(record.amount_total - expected), currency.rounding
            )
            <= 0
        ):
            return
        reason = self.env._(
            "Odoo's total %(odoo)s differs from the channel's total %(channel)s "
            "(%(currency)s); check the tax mapping and the lines",
            odoo=f"{record.amount_total:.{currency.decimal_places}f}",
            channel=f"{expected:.{currency.decimal_places}f}",
            currency=currency.name,
        )
        self._schedule_review(review_on or record, summary, [reason])
        raise ReviewRequired(reason, record=record)
