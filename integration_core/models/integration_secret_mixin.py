from odoo import api, fields, models

from .. import secret_crypto as secret_box


def SecretField(string=None, **kwargs):  # noqa: N802 (reads like a field class)
    """A write-only secret field for models inheriting ``integration.secret.mixin``.

    Writing stores the value encrypted in ``integration.secret``; reading always
    gives ``False``. Declare a Boolean ``<name>_set`` (computed by
    ``_compute_secret_set``) to show whether a value is stored; the server reads
    the value with ``record._get_secret("<name>")``.
    """
    return fields.Char(
        string=string,
        compute="_compute_secret_inputs",
        inverse="_inverse_secret_inputs",
        store=False,
        copy=False,
        integration_secret=True,
        **kwargs,
    )


def SecretSetField(string=None, **kwargs):  # noqa: N802
    """The ``<name>_set`` Boolean telling whether the secret ``<name>`` is stored."""
    return fields.Boolean(string=string, compute="_compute_secret_set", **kwargs)


class IntegrationSecretMixin(models.AbstractModel):
    """Write-only, encrypted-at-rest secret fields (see :func:`SecretField`)."""

    _name = "integration.secret.mixin"
    _description = "Integration Secret Fields"

    @api.model
    def _valid_field_parameter(self, field, name):
        return name == "integration_secret" or super()._valid_field_parameter(
            field, name
        )

    @api.model
    def _secret_field_names(self):
        return [
            name
            for name, field in self._fields.items()
            if getattr(field, "integration_secret", False)
        ]

    def _compute_secret_inputs(self):
        names = self._secret_field_names()
        for record in self:
            for name in names:
                record[name] = False

    def _inverse_secret_inputs(self):
        """Nothing to do: ``create`` and ``write`` take secret values out of the
        values before the ORM caches them (see :meth:`_pop_secret_values`)."""

    @api.model
    def _pop_secret_values(self, vals):
        return {
            name: vals.pop(name) for name in self._secret_field_names() if name in vals
        }

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [dict(vals) for vals in vals_list]
        secret_values = [self._pop_secret_values(vals) for vals in vals_list]
        records = super().create(vals_list)
        for record, values in zip(records, secret_values, strict=True):
            for name, value in values.items():
                if value:
                    record._set_secret(name, value)
        return records

    def write(self, vals):
        vals = dict(vals)
        secret_values = self._pop_secret_values(vals)
        result = super().write(vals) if vals else True
        if secret_values:
            self.check_access("write")
            for record in self:
                for name, value in secret_values.items():
                    # an emptied field clears the secret
                    record._set_secret(name, value or None)
        return result

    @api.depends()
    def _compute_secret_set(self):
        names = [
            name for name in self._secret_field_names() if f"{name}_set" in self._fields
        ]
        stored = self._stored_secret_names()
        for record in self:
            for name in names:
                record[f"{name}_set"] = (record.id, name) in stored

    def _stored_secret_names(self):
        ids = [record_id for record_id in self.ids if isinstance(record_id, int)]
        if not ids:
            return set()
        rows = (
            self.env["integration.secret"]
            .sudo()
            .search_read(
                [("res_model", "=", self._name), ("res_id", "in", ids)],
                ["res_id", "field_name"],
            )
        )
        return {(row["res_id"], row["field_name"]) for row in rows}

    def _secret_record(self, name):
        self.ensure_one()
        return (
            self.env["integration.secret"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("field_name", "=", name),
                ],
                limit=1,
            )
        )

    def _set_secret(self, name, value):
        """Store ``value`` encrypted for secret field ``name`` (``None`` clears it)."""
        self.ensure_one()
        stored = self._secret_record(name)
        if not value:
            stored.unlink()
        else:
            ciphertext = secret_box.encrypt(value)
            if stored:
                stored.ciphertext = ciphertext
            else:
                stored.create(
                    {
                        "res_model": self._name,
                        "res_id": self.id,
                        "field_name": name,
                        "ciphertext": ciphertext,
                    }
                )
        set_name = f"{name}_set"
        if set_name in self._fields:
            self.invalidate_recordset([set_name])
        self._on_secret_changed(name)

    def _on_secret_changed(self, name):
        """Hook called after secret ``name`` was stored or cleared."""

    def _get_secret(self, name):
        """Plaintext of secret field ``name``, or None when none is stored.

        For server code only: never return it to a client or log it.
        """
        self.ensure_one()
        stored = self._secret_record(name)
        return secret_box.decrypt(stored.ciphertext) if stored else None

    def _get_secrets(self, names):
        """Plaintexts of several secret fields in one query: ``{name: value or None}``."""
        self.ensure_one()
        rows = (
            self.env["integration.secret"]
            .sudo()
            .search_read(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("field_name", "in", list(names)),
                ],
                ["field_name", "ciphertext"],
            )
        )
        found = {row["field_name"]: row["ciphertext"] for row in rows}
        return {
            name: secret_box.decrypt(found[name]) if name in found else None
            for name in names
        }

    def unlink(self):
        secrets = (
            self.env["integration.secret"]
            .sudo()
            .search([("res_model", "=", self._name), ("res_id", "in", self.ids)])
        )
        result = super().unlink()
        secrets.unlink()
        return result
