"""Single-statement row inserts for the intake hot path.

``create()`` computes defaults, runs compute and create overrides and fills
caches: about a millisecond per record, more than everything else a webhook
costs. Where the caller knows every value a row needs (a new inbox message,
the queue_job row of a new message), :func:`insert_row` writes it in one
statement through the same per-field column conversion the ORM uses.
"""

import functools
import weakref

from odoo import fields
from odoo.models import MAGIC_COLUMNS
from odoo.tools import SQL

# per model class (one per registry): its stored fields with a Python default
_DEFAULTED_FIELDS = weakref.WeakKeyDictionary()


def _defaulted_fields(model):
    cls = type(model)
    found = _DEFAULTED_FIELDS.get(cls)
    if found is None:
        found = _DEFAULTED_FIELDS[cls] = tuple(
            (name, field)
            for name, field in model._fields.items()
            if field.default is not None
            and field.store
            and field.column_type
            and name not in MAGIC_COLUMNS
        )
    return found


@functools.lru_cache(maxsize=256)
def _insert_query(table, columns, conflict_columns):
    """The text of the INSERT of one row of ``columns`` into ``table``."""
    query = SQL(
        "INSERT INTO %s (%s) VALUES (%s)",
        SQL.identifier(table),
        SQL(", ").join(SQL.identifier(name) for name in columns),
        # placeholders: the values are the execute()'s parameters
        SQL(", ").join([SQL("%s", None)] * len(columns)),
    )
    if conflict_columns:
        query = SQL(
            "%s ON CONFLICT (%s) DO NOTHING",
            query,
            SQL(", ").join(SQL.identifier(name) for name in conflict_columns),
        )
    return SQL("%s RETURNING id", query).code


def insert_column_values(model, column_values, conflict_columns=None):
    """Insert one row of ``model`` from values already in their column format
    (``field.convert_to_column_insert``), the access log columns filled in;
    return its id, or None when ``conflict_columns`` found a row."""
    if model._log_access:
        # the clock, not the transaction's now(): one query less
        now = fields.Datetime.now()
        column_values = dict(
            column_values,
            create_uid=model.env.uid,
            write_uid=model.env.uid,
            create_date=now,
            write_date=now,
        )
    model.env.cr.execute(
        _insert_query(
            model._table, tuple(column_values), tuple(conflict_columns or ())
        ),
        tuple(column_values.values()),
    )
    inserted = model.env.cr.fetchone()
    return inserted[0] if inserted else None


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
    for name, field in _defaulted_fields(model):
        # Python defaults of fields not given apply, as with create()
        if name not in values:
            values[name] = field.default(model)
    model_fields = model._fields
    column_values = {}
    for name, value in values.items():
        field = model_fields[name]
        if not field.store or not field.column_type:
            raise ValueError(f"{model._name}.{name} is not a stored column")
        column_values[name] = field.convert_to_column_insert(value, model, values)
    record_id = insert_column_values(model, column_values, conflict_columns)
    if record_id is None:
        return model.browse()
    record = model.browse(record_id)
    if cache:
        # as create() leaves them; JSON values are read back on first access:
        # caching them would copy them through the serializer once more
        model_cache = model.env.cache
        for name, value in values.items():
            field = model_fields[name]
            if field.type != "json":
                model_cache.insert_missing(
                    record, field, (field.convert_to_cache(value, record, False),)
                )
    return record
