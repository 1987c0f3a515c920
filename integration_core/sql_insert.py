"""Single-statement row inserts for the intake hot path.

``create()`` computes defaults, runs compute and create overrides and fills
caches: about a millisecond per record, more than everything else a webhook
costs. Where the caller knows every value a row needs (a new inbox message,
the queue_job row of a new message), :func:`insert_row` writes it in one
statement through the same per-field column conversion the ORM uses.
"""

from odoo import fields
from odoo.models import MAGIC_COLUMNS
from odoo.tools import SQL


def insert_row(model, values, conflict_columns=None, cache=True):
    """Insert one row of ``model`` and return it; with ``cache``, its values
    (but JSON ones) are in the record cache as ``create()`` leaves them.

    :param values: ``{field name: value}`` as ``create()`` takes them, for stored
        fields only. Fields not given get their Python default, and the access
        log columns are filled in; context defaults (``default_<field>``), user
        defaults (``ir.default``), computed fields and ``create()`` overrides do
        not apply.
    :param conflict_columns: column names of a unique constraint; when a row
        with the same values exists, nothing is inserted and the result is empty.
        Under REPEATABLE READ a conflicting row committed by a transaction the
        snapshot cannot see raises a serialization failure instead.
    """
    values = dict(values)
    for name, field in model._fields.items():
        # Python defaults of fields not given apply, as with create()
        if (
            name not in values
            and field.default is not None
            and field.store
            and field.column_type
            and name not in MAGIC_COLUMNS
        ):
            values[name] = field.default(model)
    if model._log_access:
        # the clock, not the transaction's now(): one query less
        now = fields.Datetime.now()
        values.update(
            create_uid=model.env.uid,
            write_uid=model.env.uid,
            create_date=now,
            write_date=now,
        )
    columns, row = [], []
    for name, value in values.items():
        field = model._fields[name]
        if not field.store or not field.column_type:
            raise ValueError(f"{model._name}.{name} is not a stored column")
        columns.append(SQL.identifier(name))
        row.append(field.convert_to_column_insert(value, model, values))
    query = SQL(
        "INSERT INTO %s (%s) VALUES %s",
        SQL.identifier(model._table),
        SQL(", ").join(columns),
        tuple(row),
    )
    if conflict_columns:
        query = SQL(
            "%s ON CONFLICT (%s) DO NOTHING",
            query,
            SQL(", ").join(SQL.identifier(name) for name in conflict_columns),
        )
    model.env.cr.execute(SQL("%s RETURNING id", query))
    inserted = model.env.cr.fetchone()
    if not inserted:
        return model.browse()
    record = model.browse(inserted[0])
    if cache:
        # JSON values are read back on first access: caching them would copy
        # them through the serializer once more
        record._update_cache(
            {
                name: value
                for name, value in values.items()
                if model._fields[name].type != "json"
            },
            validate=False,
        )
    return record
