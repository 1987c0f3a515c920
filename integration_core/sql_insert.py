"""Single-statement row inserts for the intake hot path.

``create()`` computes defaults, runs compute and create overrides and fills
caches: about a millisecond per record, more than everything else a webhook
costs. Where the caller knows every value a row needs (a new inbox message,
the queue_job row of a new message), :func:`insert_row` writes it in one
statement through the same per-field column conversion the ORM uses.
"""

import functools
import uuid
import weakref

from psycopg2.extras import Json as PsycopgJson

from odoo import fields
from odoo.models import MAGIC_COLUMNS
from odoo.tools import SQL

from .intake_connections import execute

# per model class (one per registry): its stored fields with a Python default
_DEFAULTED_FIELDS = weakref.WeakKeyDictionary()
# {cursor: (name, statement count)}: the savepoint the last guarded statement
# opened and left open, and how many statements the cursor had run then
_OPEN_SAVEPOINTS = weakref.WeakKeyDictionary()


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
    column_values = _with_access_log(model, column_values)
    model.env.cr.execute(
        _insert_query(
            model._table, tuple(column_values), tuple(conflict_columns or ())
        ),
        tuple(column_values.values()),
    )
    inserted = model.env.cr.fetchone()
    return inserted[0] if inserted else None


def row_values(model, values):
    """``(values, column_values)`` of a new row of ``model``: ``values`` with
    the Python defaults of the fields not given, and the same in their column
    format (see :func:`insert_row` for what applies)."""
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
    return values, column_values


def cache_row(record, values, json=False):
    """Put the ``values`` of a row just inserted into the record cache, as
    ``create()`` leaves them; JSON values only with ``json``: else they are
    read back on first access, which is cheaper than copying them through the
    serializer once more."""
    model_fields = record._fields
    model_cache = record.env.cache
    for name, value in values.items():
        field = model_fields[name]
        if json or field.type != "json":
            model_cache.insert_missing(
                record, field, (field.convert_to_cache(value, record, False),)
            )


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
    values, column_values = row_values(model, values)
    record_id = insert_column_values(model, column_values, conflict_columns)
    if record_id is None:
        return model.browse()
    record = model.browse(record_id)
    if cache:
        cache_row(record, values)
    return record


def flush_with_insert(record, model, values):
    """Write the pending changes of ``record`` (one record) and insert a row of
    ``model`` from ``values`` (as :func:`insert_row` takes them, not cached) in
    one statement: one round trip instead of two on every job that logs an
    attempt after writing its outcome.

    The ORM flushes the record the usual way first when its pending changes
    are not plain columns of ``record`` alone (other records with the same
    fields pending, translated or company-dependent fields, a parent store);
    the other models' pending changes are left to the next flush.
    """
    record.ensure_one()
    _values, column_values = row_values(model, values)
    record._recompute_recordset()
    cache = record.env.cache
    dirty_ids = {
        field: set(cache.get_dirty_records(record, field)._ids)
        for field in cache.get_dirty_fields()
        if field.model_name == record._name
    }
    pending = [field for field, ids in dirty_ids.items() if record.id in ids]
    plain = not record._parent_store and all(
        not field.translate
        and not field.company_dependent
        and dirty_ids[field] == {record.id}
        for field in pending
    )
    if not pending or not plain:
        record.flush_recordset()
        insert_column_values(model, column_values)
        return
    column_values = _with_access_log(model, column_values)
    updates = {
        field.name: field.convert_to_column_update(cache.get(record, field), record)
        for field in pending
    }
    if record._log_access:
        # as the ORM's flush writes them
        updates.update(write_uid=record.env.uid, write_date=record.env.cr.now())
    assignments = [
        SQL("%s = %s", SQL.identifier(name), value) for name, value in updates.items()
    ]
    record.env.cr.execute(
        SQL(
            "WITH inserted AS (%s) UPDATE %s SET %s WHERE id = %s",
            SQL(
                "INSERT INTO %s (%s) VALUES %s",
                SQL.identifier(model._table),
                SQL(", ").join(SQL.identifier(name) for name in column_values),
                tuple(column_values.values()),
            ),
            SQL.identifier(record._table),
            SQL(", ").join(assignments),
            record.id,
        )
    )
    for field in pending:
        # what the statement wrote is what the cache holds: clean now
        cache.clear_dirty_field(field)


def execute_in_savepoint(cr, query, params):
    """Run ``query`` in a savepoint its own statement opens: rolled back and
    released when it fails (the error goes on), else left open, and released
    by the next such statement when the cursor ran nothing in between, or by
    the transaction's end. Around every statement of a loop, that is two round
    trips less than ``cr.savepoint()`` (SAVEPOINT and RELEASE of their own).
    """
    name = uuid.uuid4().hex
    previous = _OPEN_SAVEPOINTS.pop(cr, None)
    release = SQL()
    if previous is None:
        # the transaction's end ends the savepoints (and counts no statement)
        forget = functools.partial(_OPEN_SAVEPOINTS.pop, cr, None)
        cr.postcommit.add(forget)
        cr.postrollback.add(forget)
    elif previous[1] == cr.sql_log_count:
        # nothing ran since it opened: the innermost savepoint
        release = SQL("RELEASE SAVEPOINT %s; ", SQL.identifier(previous[0]))
    savepoint = SQL.identifier(name)
    try:
        cr.execute(SQL("%sSAVEPOINT %s; %s", release, savepoint, SQL(query, *params)))
    except Exception:
        cr.execute(
            SQL("ROLLBACK TO SAVEPOINT %s; RELEASE SAVEPOINT %s", savepoint, savepoint)
        )
        raise
    _OPEN_SAVEPOINTS[cr] = (name, cr.sql_log_count)


def _with_access_log(model, column_values):
    if not model._log_access:
        return column_values
    # the clock, not the transaction's now(): one query less
    now = fields.Datetime.now()
    return dict(
        column_values,
        create_uid=model.env.uid,
        write_uid=model.env.uid,
        create_date=now,
        write_date=now,
    )


def _parameter_text(value):
    """The text PostgreSQL receives for the parameter ``value`` when it is a
    string or JSON; None for other values."""
    if isinstance(value, PsycopgJson):
        return value.dumps(value.adapted)
    return value if isinstance(value, str) else None


@functools.lru_cache(maxsize=64)
def _linked_insert_query(
    table, columns, conflict_columns, dependent_table, dependent_columns
):
    """The text of :func:`insert_rows_linked`'s statement; ``dependent_columns``
    are ``(name, column type, holds the id)``. Identifiers and types come from
    the models' definitions; every value is a parameter."""
    expressions = []
    for _name, column_type, holds_id in dependent_columns:
        value = "(%s || parent.id::text || %s)" if holds_id else "%s"
        expressions.append(f"{value}::{column_type}" if column_type else value)
    names = ", ".join(SQL.identifier(name).code for name, _t, _h in dependent_columns)
    return (
        f"WITH parent AS ({_insert_query(table, columns, conflict_columns)}), "
        f"child AS (INSERT INTO {SQL.identifier(dependent_table).code} ({names}) "
        f"SELECT {', '.join(expressions)} FROM parent) SELECT id FROM parent"
    )


def insert_rows_linked(
    model,
    column_values,
    conflict_columns,
    dependent,
    dependent_values,
    hole,
    savepoint=False,
):
    """Insert a row of ``model`` and, in the same statement, a row of
    ``dependent`` that names it: every text or JSON value of
    ``dependent_values`` holding ``hole`` (a number standing for the first
    row's id, known once it is inserted) once gets the id in its place.
    Both rows are inserted, or neither when ``conflict_columns`` found a row
    of ``model``: the result is the first row's id, or None. Values are in
    their column format; the access log columns are filled in.

    One statement is one transaction in autocommit mode: both rows are
    stored together without the round trips of BEGIN and COMMIT. With
    ``savepoint``, the statement runs in a savepoint of its own, as
    :func:`execute_in_savepoint` opens it."""
    column_values = _with_access_log(model, column_values)
    dependent_values = _with_access_log(dependent, dependent_values)
    marker = str(hole)
    params = list(column_values.values())
    dependent_columns = []
    for name, value in dependent_values.items():
        field = dependent._fields.get(name)
        column_type = field.column_type[1] if field and field.column_type else None
        text = _parameter_text(value)
        holds_id = text is not None and text.count(marker) == 1
        params.extend(text.split(marker) if holds_id else (value,))
        dependent_columns.append((name, column_type, holds_id))
    query = _linked_insert_query(
        model._table,
        tuple(column_values),
        tuple(conflict_columns or ()),
        dependent._table,
        tuple(dependent_columns),
    )
    if savepoint:
        execute_in_savepoint(model.env.cr, query, params)
    else:
        execute(model.env.cr, query, params)
    inserted = model.env.cr.fetchone()
    return inserted[0] if inserted else None
