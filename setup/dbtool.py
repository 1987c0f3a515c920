"""Database helper for setup/test and setup/demo.

Usage: dbtool.py drop DB | exists DB | installed DB MODULE | copy DB NEW
(exit status 0 means yes for exists and installed). Connection settings come from
libpq's PG* environment variables.
"""

import sys

import psycopg2
from psycopg2 import sql


def module_installed(name, module):
    conn = psycopg2.connect(dbname=name)
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT 1 FROM ir_module_module"
                " WHERE name = %s AND state = 'installed'",
                (module,),
            )
            return 0 if cr.fetchone() else 1
    except psycopg2.errors.UndefinedTable:
        return 1
    finally:
        conn.close()


def main(action, name, *args):
    if action == "installed":
        return module_installed(name, *args)
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cr:
        if action == "drop":
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s",
                (name,),
            )
            cr.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
            )
        elif action == "exists":
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return 0 if cr.fetchone() else 1
        elif action == "copy":
            (new,) = args
            cr.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(new), sql.Identifier(name)
                )
            )
        else:
            raise SystemExit(f"unknown action {action!r}")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
