"""The world a scenario runs in: a company with stock of 50 products and one
backend per simulated system (Shopify, Stripe, a carrier), each pointing at a
simulator on 127.0.0.1.

Used by the demo (``setup/demo``), the order-to-cash test and the degradation
tests. Seeding is idempotent: a second call finds what the first created and
only points the backends at the simulators' current URLs. Secrets are
generated at the first call and kept in the database (encrypted), never in the
repository.
"""

import secrets

try:
    from . import harness
except ImportError:  # imported as a top-level module, tests/e2e on sys.path
    import harness

STOCK_PER_PRODUCT = 5000
SHOPIFY_LOCATION = "7700001"
SHOPIFY_TOKEN = "shpat_demo"
STRIPE_API_KEY = "sk_test_simulator"
CARRIER_API_KEY = "ep_test_key"
# Shopify's REST bucket on a Plus plan (size, leak rate per second); standard
# plans have 40 and 2/s, which a peak of several orders a second outruns
SHOPIFY_PLUS_BUCKET = (400, 20.0)

NAMES = {
    "shopify": "Demo Shopify store",
    "stripe": "Demo Stripe account",
    "carrier": "Demo carrier (EasyPost)",
}


def skus(count=50):
    """The SKUs of the products, ``DEMO-001``..."""
    return [f"DEMO-{number:03d}" for number in range(1, count + 1)]


def seed(db, urls, invoice_on_delivery=True, shopify_bucket=None):
    """Seed ``db`` and point its backends at ``urls``.

    :param urls: ``{"shopify": ..., "stripe": ..., "carrier": ...}`` base URLs of
        the simulators; a system left out gets no backend
    :param shopify_bucket: ``(size, leak rate)`` of the simulated shop's REST
        bucket when it is not a standard plan's (e.g. ``SHOPIFY_PLUS_BUCKET``)
    :returns: ``{system: {"id", "token", "secret", "url"}}`` where ``url`` is
        the backend's webhook path on the Odoo server
    """
    with harness.environment(db, {"tracking_disable": True}) as env:
        backends, _products, _warehouse = seed_env(
            env, urls, invoice_on_delivery, shopify_bucket
        )
        return {
            system: {
                "id": backend.id,
                "token": backend.webhook_token,
                "secret": backend._get_webhook_secrets()[0],
                "url": f"/integration/webhook/{backend.webhook_token}",
            }
            for system, backend in backends.items()
        }


def seed_env(env, urls, invoice_on_delivery=True, shopify_bucket=None):
    """What :func:`seed` writes, in ``env``'s transaction (a test's, say).

    :returns: ``({system: backend}, products, warehouse)``
    """
    company = env.company
    if company.name in ("YourCompany", "My Company"):
        company.name = "Demo Distributor"
    _seed_accounting(env, company)
    warehouse = env["stock.warehouse"].search(
        [("company_id", "=", company.id)], limit=1
    )
    products = _seed_products(env, warehouse)
    seeders = {
        "shopify": _seed_shopify,
        "stripe": _seed_stripe,
        "carrier": _seed_carrier,
    }
    backends = {}
    for system in ("carrier", "shopify", "stripe"):
        if system not in urls:
            continue
        backend = seeders[system](
            env,
            _find_backend(env, system),
            warehouse=warehouse,
            products=products,
            backends=backends,
            invoice_on_delivery=invoice_on_delivery,
        )
        values = {"api_base_url": urls[system], "active": True}
        if system == "shopify" and shopify_bucket:
            values.update(
                shopify_bucket_size=shopify_bucket[0],
                shopify_leak_rate=shopify_bucket[1],
            )
        backend.write(values)
        backends[system] = backend
    return backends, products, warehouse


def _find_backend(env, system):
    return (
        env["integration.backend"]
        .with_context(active_test=False)
        .search(
            [("backend_type", "=", system), ("name", "=", NAMES[system])],
            limit=1,
        )
    )


def _seed_accounting(env, company):
    """The generic chart of accounts, when the company has none yet (payments
    need outstanding accounts, invoices income and receivable accounts)."""
    if not company.chart_template:
        env["account.chart.template"].try_loading(
            "generic_coa", company, install_demo=False
        )


def _seed_products(env, warehouse):
    from odoo import Command

    Product = env["product.product"].with_context(active_test=False)
    products = {}
    for index, sku in enumerate(skus()):
        product = Product.search([("default_code", "=", sku)], limit=1)
        if not product:
            product = Product.create(
                {
                    "name": f"Demo product {index + 1:02d}",
                    "default_code": sku,
                    "list_price": 10 + index,
                    "type": "consu",
                    "is_storable": True,
                    "weight": 0.5,
                    "invoice_policy": "delivery",
                    "taxes_id": [Command.clear()],
                }
            )
        products[sku] = product
    quants = env["stock.quant"]
    for product in products.values():
        if product.qty_available < STOCK_PER_PRODUCT / 2:
            quants |= quants.with_context(inventory_mode=True).create(
                {
                    "product_id": product.id,
                    "location_id": warehouse.lot_stock_id.id,
                    "inventory_quantity": STOCK_PER_PRODUCT,
                }
            )
    if quants:
        quants.action_apply_inventory()
    return products


def _seed_shopify(env, shop, warehouse, products, backends, invoice_on_delivery):
    if not shop:
        shop = env["integration.backend"].create(
            {
                "name": NAMES["shopify"],
                "backend_type": "shopify",
                "shopify_shop_domain": "demo-store.example.com",
                "webhook_secret": secrets.token_hex(24),
                "shopify_access_token": SHOPIFY_TOKEN,
                "tax_fallback": "none",
                "confirm_policy": "confirm",
                # nothing scheduled reaches anything but the simulators
                "reconcile_enabled": False,
            }
        )
    values = {"invoice_policy": "delivery" if invoice_on_delivery else "manual"}
    carrier = backends.get("carrier")
    # the delivery method imported orders get (when the core knows the field)
    if carrier and "default_carrier_id" in shop._fields:
        values["default_carrier_id"] = carrier.carrier_ids[:1].id
    shop.write(values)
    if not shop.shopify_location_ids:
        env["integration.shopify.location"].create(
            {
                "backend_id": shop.id,
                "name": "Demo warehouse",
                "shopify_location_id": SHOPIFY_LOCATION,
                "warehouse_id": warehouse.id,
            }
        )
    Binding = env["integration.shopify.product.binding"]
    bound = set(
        Binding.search([("backend_id", "=", shop.id)]).mapped("product_id.default_code")
    )
    for number, (sku, product) in enumerate(products.items(), start=1):
        if sku not in bound:
            Binding.create(
                {
                    "backend_id": shop.id,
                    "product_id": product.id,
                    "external_id": f"4400{number:04d}",
                    "inventory_item_id": f"5500{number:04d}",
                }
            )
    shop._get_shipping_product()
    return shop


def _seed_stripe(env, stripe, warehouse, products, backends, invoice_on_delivery):
    if stripe:
        return stripe
    Journal = env["account.journal"]
    journal = Journal.search([("code", "=", "STRD")], limit=1) or Journal.create(
        {"name": "Stripe (demo)", "code": "STRD", "type": "bank"}
    )
    bank = Journal.search(
        [
            ("type", "=", "bank"),
            ("company_id", "=", env.company.id),
            ("id", "!=", journal.id),
        ],
        limit=1,
    ) or Journal.create({"name": "Bank", "code": "BNKD", "type": "bank"})
    Account = env["account.account"]
    fees = Account.search([("code", "=", "626100")], limit=1) or Account.create(
        {"name": "Stripe fees", "code": "626100", "account_type": "expense"}
    )
    disputes = Account.search([("code", "=", "626200")], limit=1) or Account.create(
        {"name": "Lost disputes", "code": "626200", "account_type": "expense"}
    )
    return env["integration.backend"].create(
        {
            "name": NAMES["stripe"],
            "backend_type": "stripe",
            "webhook_secret": "whsec_" + secrets.token_hex(24),
            "stripe_api_key": STRIPE_API_KEY,
            "stripe_journal_id": journal.id,
            "stripe_payout_journal_id": bank.id,
            "stripe_fee_account_id": fees.id,
            "stripe_dispute_account_id": disputes.id,
            # the invoice comes on delivery: a payment waits for it on the order
            "stripe_invoice_policy": "leave" if invoice_on_delivery else "invoice",
            "reconcile_enabled": False,
        }
    )


def _seed_carrier(env, carrier, warehouse, products, backends, invoice_on_delivery):
    if not carrier:
        carrier = env["integration.backend"].create(
            {
                "name": NAMES["carrier"],
                "backend_type": "carrier",
                "carrier_dialect": "easypost",
                "webhook_secret": secrets.token_hex(24),
                "carrier_api_key": CARRIER_API_KEY,
                "carrier_name": "USPS",
            }
        )
    if not carrier.carrier_ids:
        shipping = env["product.product"].create(
            {"name": "Demo carrier shipping", "type": "service"}
        )
        env["delivery.carrier"].create(
            {
                "name": "Demo carrier Priority",
                "delivery_type": "integration",
                "integration_backend_id": carrier.id,
                "integration_service": "Priority",
                "product_id": shipping.id,
            }
        )
    return carrier


FAST_RETRIES = {
    "name": "Scenario retries (1 s growing to 5 s)",
    # a wait lasts up to 4x the attempts: a refund may wait for its invoice
    # through the whole shipping of a scenario
    "max_attempts": 20,
    "initial_delay": 1,
    "backoff_factor": 1.5,
    "max_delay": 5,
    "jitter": 0.0,
}


def use_fast_retries(db):
    """Give every backend of ``db`` a retry policy of seconds instead of the
    default's minutes, so that what waits for something (a payment for its
    order, a fulfillment event for its fulfillment) follows within a scenario."""
    with harness.environment(db) as env:
        Policy = env["integration.retry.policy"]
        policy = Policy.search(
            [("name", "=", FAST_RETRIES["name"])], limit=1
        ) or Policy.create(FAST_RETRIES)
        env["integration.backend"].with_context(active_test=False).search([]).write(
            {"retry_policy_id": policy.id}
        )
        return policy.id
