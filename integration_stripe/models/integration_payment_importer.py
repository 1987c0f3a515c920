from odoo import models


class IntegrationPaymentImporter(models.AbstractModel):
    """The Stripe backend's accounting settings, read through the core
    payment importer's policy hooks."""

    _inherit = "integration.payment.importer"

    def _find_journal(self, backend, gateway):
        if backend.backend_type != "stripe":
            return super()._find_journal(backend, gateway)
        if not backend.stripe_journal_id:
            return super()._find_journal(backend, gateway)
        return backend.stripe_journal_id

    def _find_outstanding_account(self, backend, journal):
        if backend.backend_type != "stripe":
            return super()._find_outstanding_account(backend, journal)
        # no bank statements for the Stripe balance: payments, fees, refunds
        # and payouts are all booked on the journal's own account
        return journal.default_account_id

    def _get_unmatched_policy(self, backend):
        if backend.backend_type != "stripe":
            return super()._get_unmatched_policy(backend)
        return backend.stripe_unmatched_policy

    def _get_invoice_policy(self, backend):
        if backend.backend_type != "stripe":
            return super()._get_invoice_policy(backend)
        return backend.stripe_invoice_policy

    def _get_match_rules(self, backend):
        if backend.backend_type != "stripe":
            return super()._get_match_rules(backend)
        rules = []
        if backend.stripe_match_reference_text:
            rules.append("reference_text")
        if backend.stripe_match_amount_email:
            rules.append("amount_email")
        return rules
