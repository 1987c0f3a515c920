"""Create or drop the throwaway databases used by setup/test (libpq settings from PG* vars)."""

import sys

import psycopg2
from psycopg2 import sql


def main(action, name):
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cr:
        if action == "drop":
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cr.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        elif action == "exists":
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return 0 if cr.fetchone() else 1
        else:
            raise SystemExit(f"unknown action {action!r}")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
