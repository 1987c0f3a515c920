from odoo import api, fields, models


class IntegrationBinding(models.Model):
    """Which Odoo record an external object became, per backend, and the version
    of that object last applied to it (OCA connector's binder).

    Every importer finds and records its records through :meth:`_find` and
    :meth:`_bind`; connectors with more to store per binding inherit it with
    ``_inherits`` (see ``integration.shopify.product.binding``).
    """

    _name = "integration.binding"
    _description = "Integration Binding"
    _order = "id desc"
    _rec_name = "external_name"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    res_model = fields.Char(string="Odoo Model", required=True, index=True)
    res_id = fields.Many2oneReference(
        string="Odoo Record", model_field="res_model", index=True
    )
    external_id = fields.Char(
        string="External ID", help="The external system's id of the object."
    )
    external_name = fields.Char(help="What people call it there, e.g. #1001.")
    external_updated_at = fields.Datetime(
        help="Time of the version last applied; older versions are skipped."
    )
    external_status = fields.Char(help="The object's status there, when applied.")
    digest = fields.Char(help="Fingerprint of the content last applied.")

    _sql_constraints = [
        (
            "external_id_unique",
            "unique(backend_id, res_model, external_id)",
            "An external object is bound once per backend and model.",
        )
    ]

    @api.depends("res_model", "res_id", "external_name", "external_id")
    def _compute_display_name(self):
        for binding in self:
            binding.display_name = (
                binding.external_name or binding.external_id or binding.res_model
            )

    @api.model
    def _find(self, backend, model, external_id):
        """The binding of ``external_id`` for ``model`` on ``backend`` (or empty)."""
        if not external_id:
            return self.browse()
        return self.search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", model),
                ("external_id", "=", str(external_id)),
            ],
            limit=1,
        )

    @api.model
    def _find_record(self, backend, model, external_id):
        """The record ``external_id`` became (an empty ``model`` recordset if
        none, or if it was deleted since)."""
        binding = self._find(backend, model, external_id)
        return binding._get_record() or self.env[model]

    @api.model
    def _find_records(self, backend, model, external_ids):
        """``{external_id: record}`` of the bound ones among ``external_ids``."""
        external_ids = [str(ext) for ext in external_ids if ext]
        if not external_ids:
            return {}
        bindings = self.search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", model),
                ("external_id", "in", external_ids),
            ]
        )
        records = self.env[model].browse(bindings.mapped("res_id")).exists()
        return {
            binding.external_id: self.env[model].browse(binding.res_id)
            for binding in bindings
            if binding.res_id in records.ids
        }

    @api.model
    def _bind(self, backend, record, external_id, binding=None, **values):
        """Record that ``external_id`` is ``record`` on ``backend`` (creating or
        updating its binding) with ``values`` (``external_updated_at``...).

        :param binding: what :meth:`_find` just answered for ``external_id``
            in this transaction (an empty recordset: none), so it is not
            searched again
        """
        record.ensure_one()
        if binding is None:
            binding = self._find(backend, record._name, external_id)
        values = dict(values, res_id=record.id)
        if binding:
            binding.write(values)
            return binding
        return self.create(
            dict(
                values,
                backend_id=backend.id,
                res_model=record._name,
                external_id=str(external_id),
            )
        )

    def _get_record(self):
        """The bound record, or None (no binding, or the record was deleted)."""
        if not self:
            return None
        self.ensure_one()
        if self.res_model not in self.env or not self.res_id:
            return None
        return self.env[self.res_model].browse(self.res_id).exists() or None
