"""Order throughput on one Odoo node against two nodes behind HAProxy.

Both runs use ``setup/cluster``'s cluster on one database: every node with 2
HTTP workers and its own queue_job runner (one elected leader), HAProxy in
front, the runner dispatching through the balancer. The same burst of signed
Shopify ``orders/create`` webhooks is posted through the balancer, and the run
lasts until every order is a confirmed sale order. The ratio two / one is
informative only on a machine whose cores both nodes share (it prints the core
count); what must hold everywhere is that no accepted order is lost or doubled.

Usage: .venv/bin/python bench/nodes.py [--orders 300] [--db NAME] [--keep-db]
"""

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [
    os.path.join(ROOT, "setup"),
    os.path.join(ROOT, "tests", "e2e"),
    os.path.join(ROOT, "integration_shopify", "tests"),
]

import cluster as cluster_tool  # noqa: E402
import harness  # noqa: E402
import peak  # noqa: E402
import shopify_simulator as shopify  # noqa: E402
import world  # noqa: E402

MODULES = "integration_suite"


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def burst(db, port, info, orders):
    """Post ``orders`` signed orders through the balancer at once; wait until
    each is a sale order. :returns: (seconds, accepted, sale orders, doubled)"""
    tag = peak.new_tag()
    scenario = peak.build_scenario(orders, 1000.0, 11, info["secret"], tag)
    sends = [send for send in scenario.sends if send.kind == "order"]
    names = [order["name"] for order in scenario.orders]
    url = f"http://127.0.0.1:{port}{info['url']}"
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda send: peak.deliver(requests.Session(), url, send), sends)
        )
    accepted = statuses.count(200)

    def sale_orders():
        return harness.query(
            db,
            "SELECT count(*), count(DISTINCT client_order_ref) FROM sale_order "
            "WHERE client_order_ref = ANY(%s) AND state = 'sale'",
            (names,),
        )[0]

    harness.wait_until(
        lambda: sale_orders()[1] >= accepted, timeout=900, what="every sale order"
    )
    seconds = time.monotonic() - started
    total, distinct = sale_orders()
    return seconds, accepted, distinct, total - distinct


def measure(db, nodes, orders, haproxy):
    port = harness.free_port()
    cluster = cluster_tool.Cluster(db, nodes, port, workers=2)
    shop = shopify.ShopifySimulator(access_token=world.SHOPIFY_TOKEN).start()
    try:
        cluster.start(haproxy, say)
        info = world.seed(db, {"shopify": shop.base_url})["shopify"]
        harness.wait_until(cluster.leader, timeout=60, what="a job runner leader")
        # a first small burst warms every worker's registry and caches
        burst(db, port, info, 10)
        return burst(db, port, info, orders)
    finally:
        cluster.stop()
        shop.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--db", help=f"existing database with {MODULES}")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    haproxy = cluster_tool.ensure_haproxy(say)
    db = args.db or "bench_nodes"
    if not args.db:
        harness.drop_database(db)
        harness.install_database(
            db, MODULES, os.path.join(ROOT, ".build", f"install-{db}.log")
        )
    rates, failures = {}, []
    try:
        for nodes in (1, 2):
            seconds, accepted, sale_orders, doubled = measure(
                db, nodes, args.orders, haproxy
            )
            rates[nodes] = sale_orders / seconds
            lost = accepted - sale_orders
            say(
                f"{nodes} node(s): {sale_orders} of {args.orders} orders confirmed in "
                f"{seconds:.1f} s = {rates[nodes]:.1f} orders/s "
                f"(lost {lost}, doubled {doubled})"
            )
            if lost or doubled or accepted != args.orders:
                failures.append(nodes)
    finally:
        if not args.db and not args.keep_db:
            harness.drop_database(db)
    say(
        f"ratio two nodes / one node: {rates.get(2, 0) / rates[1]:.2f} "
        f"on {os.cpu_count()} cores (both nodes share them)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
