import logging

from odoo import api, fields, models

from odoo.addons.integration_core.exceptions import (
    AlreadyDelivered,
    DependencyNotReady,
    PermanentError,
    SignatureError,
)
from odoo.addons.integration_core.models.integration_backend import (
    set_connector_removed,
)
from odoo.addons.integration_core.models.integration_secret_mixin import (
    SecretField,
    SecretSetField,
)
from odoo.addons.integration_core.signatures import (
    constant_time_equals,
    hmac_sha256_base64,
)

from .. import mapping

_logger = logging.getLogger(__name__)

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")
TOPIC_PRIORITIES = {
    "orders/create": 5,
    "orders/updated": 5,
    "orders/paid": 5,
    "orders/cancelled": 5,
    "refunds/create": 6,
    "app/uninstalled": 1,
    "fulfillment/create": 5,
    "fulfillment/event": 6,
    "inventory/set": 20,
}


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    backend_type = fields.Selection(
        selection_add=[("shopify", "Shopify")],
        ondelete={"shopify": set_connector_removed},
    )
    # -- connection ------------------------------------------------------------------
    shopify_shop_domain = fields.Char(
        string="Shop Domain", help="e.g. my-shop.myshopify.com"
    )
    shopify_api_version = fields.Char(string="Admin API Version", default="2024-10")
    shopify_access_token = SecretField(
        string="Admin API Access Token",
        groups="integration_core.group_integration_manager",
        help="Write-only: stored encrypted, never shown again.",
    )
    shopify_access_token_set = SecretSetField(string="Access Token Set")
    shopify_bucket_size = fields.Integer(
        string="REST Bucket Size",
        default=40,
        help="Shopify's leaky bucket: 40 calls on standard plans, 400 on Plus.",
    )
    shopify_leak_rate = fields.Float(
        string="REST Leak Rate (calls/s)", default=2.0, help="2/s standard, 20/s Plus."
    )
    # -- orders (the order settings are the backend's Sales tab) ------------------
    shopify_location_ids = fields.One2many(
        "integration.shopify.location", "backend_id", string="Locations"
    )

    # -- helpers ---------------------------------------------------------------------
    def _is_shopify(self):
        return self.backend_type == "shopify"

    def _shopify_admin_url(self, path):
        """Absolute Admin REST URL of ``path`` (e.g. ``orders.json``)."""
        self.ensure_one()
        base = (getattr(self, "api_base_url", None) or "").rstrip("/")
        if not base:
            base = f"https://{self.shopify_shop_domain}"
        return f"{base}/admin/api/{self.shopify_api_version}/{path.lstrip('/')}"

    def _get_location_warehouse(self, location):
        if not self._is_shopify() or not location:
            return super()._get_location_warehouse(location)
        return self.shopify_location_ids.filtered(
            lambda loc: loc.shopify_location_id == location
        )[:1].warehouse_id

    def _bind_product(self, product, variant_id):
        if not self._is_shopify():
            return super()._bind_product(product, variant_id)
        return self.env["integration.shopify.product.binding"].create(
            {
                "backend_id": self.id,
                "product_id": product.id,
                "shopify_variant_id": variant_id,
            }
        )

    # -- webhook intake --------------------------------------------------------------
    def _verify_signature(self, raw_body, headers):
        if not self._is_shopify():
            return super()._verify_signature(raw_body, headers)
        received = headers.get("x-shopify-hmac-sha256")
        if not received:
            raise SignatureError("missing X-Shopify-Hmac-Sha256")
        secrets = self._get_webhook_secrets()
        if not secrets:
            raise SignatureError("no webhook secret configured")
        for secret in secrets:
            if constant_time_equals(
                hmac_sha256_base64(secret, raw_body), received.strip()
            ):
                return
        raise SignatureError("X-Shopify-Hmac-Sha256 does not match")

    def _get_idempotency_key(self, payload, headers):
        if not self._is_shopify():
            return super()._get_idempotency_key(payload, headers)
        # a None key makes the pipeline use a digest of topic and payload
        return (
            headers.get("x-shopify-event-id")
            or headers.get("x-shopify-webhook-id")
            or None
        )

    def _get_topic(self, payload, headers):
        if not self._is_shopify():
            return super()._get_topic(payload, headers)
        return headers.get("x-shopify-topic") or None

    def _get_external_ref(self, payload, headers):
        if not self._is_shopify():
            return super()._get_external_ref(payload, headers)
        if not isinstance(payload, dict):
            return None
        ref = payload.get("id")
        return str(ref) if ref else None

    def _get_sequence_key(self, payload, headers):
        if not self._is_shopify():
            return super()._get_sequence_key(payload, headers)
        topic = headers.get("x-shopify-topic") or ""
        if topic in ORDER_TOPICS and isinstance(payload, dict) and payload.get("id"):
            return mapping.order_sequence_key(payload["id"])
        # refunds must not be judged stale against later order versions
        return None

    def _get_event_at(self, payload, headers):
        if not self._is_shopify():
            return super()._get_event_at(payload, headers)
        # updated_at first: it orders the versions of one order exactly, while
        # X-Shopify-Triggered-At is when the webhook fired (it may be later)
        value = isinstance(payload, dict) and payload.get("updated_at")
        try:
            return mapping.parse_datetime(
                value or headers.get("x-shopify-triggered-at")
            )
        except ValueError:
            return None

    def _get_correlation_id(self, payload, headers):
        if not self._is_shopify():
            return super()._get_correlation_id(payload, headers)
        return headers.get("x-shopify-event-id") or super()._get_correlation_id(
            payload, headers
        )

    # -- inbound handlers ------------------------------------------------------------
    def _get_inbox_handler_methods(self):
        methods = super()._get_inbox_handler_methods()
        if self._is_shopify():
            methods.update(
                {
                    "orders/create": "_shopify_handle_order",
                    "orders/updated": "_shopify_handle_order",
                    "orders/paid": "_shopify_handle_order",
                    "orders/cancelled": "_shopify_handle_order",
                    "refunds/create": "_shopify_handle_refund",
                    "app/uninstalled": "_shopify_handle_uninstalled",
                }
            )
        return methods

    def _get_topic_priority(self, topic):
        if self._is_shopify() and topic in TOPIC_PRIORITIES:
            return TOPIC_PRIORITIES[topic]
        return super()._get_topic_priority(topic)

    def _shopify_map(self, to_canonical, payload):
        """``to_canonical(payload)``; a payload it cannot read fails for good."""
        try:
            return to_canonical(payload)
        except (ValueError, TypeError, AttributeError, KeyError) as err:
            raise PermanentError(f"payload cannot be mapped: {err}") from err

    def _shopify_handle_order(self, message):
        """Every order topic applies the order's latest state: a create, update,
        payment or cancellation delivered late is still applied by the next one."""
        order = self._shopify_map(mapping.to_canonical_order, message.payload)
        cancellation = self._shopify_map(
            mapping.to_canonical_cancellation, message.payload
        )
        if cancellation:
            cancellation = self._validate_canonical("order.cancellation", cancellation)
        return self._import_canonical("order", order, cancellation=cancellation)

    def _shopify_handle_refund(self, message):
        refund = self._shopify_map(mapping.to_canonical_refund, message.payload)
        return self._import_canonical("refund", refund)

    def _shopify_handle_uninstalled(self, message):
        """The app was removed from the shop: stop taking webhooks and tell people."""
        self.paused = True
        body = self.env._(
            "The Shopify app was uninstalled from %s: the backend is paused.",
            self.shopify_shop_domain or self.name,
        )
        self.message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        group = self.env.ref(
            "integration_core.group_integration_manager", raise_if_not_found=False
        )
        users = (
            group.sudo().all_user_ids
            if group and "all_user_ids" in group._fields
            else group.sudo().users
        )
        for user in (users or self.env.user)[:5]:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Shopify app uninstalled"),
                note=body,
                user_id=user.id,
            )
        return self

    # -- event subscribers -----------------------------------------------------------
    def _shopify_on_picking_done(self, delivery):
        """``picking.done`` and ``picking.tracked`` subscriber: a delivery of
        this shop's order becomes a fulfillment, with its tracking number: one
        whose carrier gives it later is fulfilled on ``picking.tracked``. Other
        pickings are not this backend's concern."""
        picking = self.env["stock.picking"].browse(delivery.event_id.payload["id"])
        if picking.exists() and not picking._integration_awaits_tracking():
            # once per picking, whichever of the two events comes first
            picking._shopify_enqueue_fulfillment(self)

    def _shopify_on_shipment_delivered(self, delivery):
        """``shipment.delivered`` subscriber: the carrier delivered a parcel of
        this shop's order; its fulfillment gets a ``delivered`` event.

        :raises DependencyNotReady: the fulfillment is not in Shopify yet
        """
        payload = delivery.event_id.payload
        picking = self.env["stock.picking"].browse(payload["id"]).exists()
        binding = picking._shopify_order_binding() if picking else None
        if not binding or binding.backend_id != self:
            return None
        if not picking.shopify_fulfillment_id:
            raise DependencyNotReady(f"{picking.name} has no Shopify fulfillment yet")
        return self._outbox_enqueue(
            "fulfillment/event",
            {
                "order_id": binding.external_id,
                "fulfillment_id": picking.shopify_fulfillment_id,
                "status": "delivered",
                "happened_at": delivery.event_id.published_at.isoformat() + "Z",
            },
            idempotency_key=f"fulfillment-delivered:{picking.id}",
            record=picking,
            external_ref=binding.external_id,
        )

    def _shopify_prepare_fulfillment_event(self, message):
        payload = message.payload
        return {
            "method": "POST",
            "url": self._shopify_admin_url(
                f"orders/{payload['order_id']}/fulfillments/"
                f"{payload['fulfillment_id']}/events.json"
            ),
            "json": {
                "event": {
                    "status": payload["status"],
                    "happened_at": payload["happened_at"],
                }
            },
        }

    # -- outbound --------------------------------------------------------------------
    def _shopify_headers(self):
        token = self.sudo()._get_secret("shopify_access_token")
        return {"X-Shopify-Access-Token": token} if token else {}

    def _shopify_request(self, method, path, json=None, params=None):
        """One Admin REST call through the core HTTP layer (rate limit, timeouts)."""
        return self._http_request(
            method,
            self._shopify_admin_url(path) if not path.startswith("http") else path,
            json=json,
            params=params,
            headers=self._shopify_headers(),
        )

    def _shopify_enqueue_inventory_level(self, binding, location):
        """Queue the stock level of ``binding``'s item at ``location``."""
        self.ensure_one()
        return self._outbox_enqueue(
            "inventory/set",
            {
                "inventory_item_id": binding.inventory_item_id,
                "location_id": location.shopify_location_id,
                "product_id": binding.product_id.id,
                "warehouse_id": location.warehouse_id.id,
            },
            coalesce_key=f"inventory:{binding.inventory_item_id}:{location.shopify_location_id}",
            record=binding.product_id,
            external_ref=binding.inventory_item_id,
        )

    def _shopify_available(self, product, warehouse):
        """Quantity Shopify may sell: free (unreserved) stock of the warehouse."""
        return int(product.with_context(warehouse_id=warehouse.id).free_qty)

    def _outbox_supports_idempotency_key(self):
        if not self._is_shopify():
            return super()._outbox_supports_idempotency_key()
        return False

    def _get_outbox_preparer_methods(self):
        methods = super()._get_outbox_preparer_methods()
        if self._is_shopify():
            methods.update(
                {
                    "inventory/set": "_shopify_prepare_inventory_set",
                    "fulfillment/create": "_shopify_prepare_fulfillment_create",
                    "fulfillment/event": "_shopify_prepare_fulfillment_event",
                }
            )
        return methods

    def _outbox_prepare_request(self, message):
        if not self._is_shopify():
            return super()._outbox_prepare_request(message)
        if self._get_outbox_preparer(message.topic) is None:
            raise PermanentError(f"no Shopify request for topic {message.topic}")
        request = super()._outbox_prepare_request(message)
        request["headers"] = dict(
            request.get("headers") or {}, **self._shopify_headers()
        )
        return request

    def _shopify_prepare_inventory_set(self, message):
        payload = message.payload
        product = self.env["product.product"].browse(payload["product_id"]).exists()
        warehouse = self.env["stock.warehouse"].browse(payload["warehouse_id"]).exists()
        available = (
            self._shopify_available(product, warehouse)
            if product and warehouse
            else payload.get("available", 0)
        )
        return {
            "method": "POST",
            "url": self._shopify_admin_url("inventory_levels/set.json"),
            "json": {
                "location_id": int(payload["location_id"]),
                "inventory_item_id": int(payload["inventory_item_id"]),
                "available": available,
            },
        }

    def _shopify_prepare_fulfillment_create(self, message):
        """Fulfil the open fulfillment order lines of the shipped line items."""
        payload = message.payload
        response = self._shopify_request(
            "GET", f"orders/{payload['order_id']}/fulfillment_orders.json"
        )
        fulfillment_orders = (response.json() or {}).get("fulfillment_orders") or []
        wanted = {
            str(line["line_item_id"]): line["quantity"] for line in payload["lines"]
        }
        by_order = []
        for fulfillment_order in fulfillment_orders:
            if fulfillment_order.get("status") not in (
                "open",
                "in_progress",
                "scheduled",
            ):
                continue
            items = []
            for line in fulfillment_order.get("line_items") or ():
                line_item_id = str(line.get("line_item_id"))
                quantity = min(
                    wanted.get(line_item_id, 0), line.get("fulfillable_quantity", 0)
                )
                if quantity > 0:
                    items.append({"id": line["id"], "quantity": quantity})
                    wanted[line_item_id] -= quantity
            if items:
                by_order.append(
                    {
                        "fulfillment_order_id": fulfillment_order["id"],
                        "fulfillment_order_line_items": items,
                    }
                )
        if not by_order:
            found = self._shopify_find_fulfillment(payload)
            if found:
                raise AlreadyDelivered(
                    f"order {payload['order_id']} already has fulfillment "
                    f"{found['id']} for these lines",
                    found=found,
                )
            raise PermanentError(
                f"order {payload['order_id']} has no open fulfillment order line to fulfil"
            )
        fulfillment = {
            "line_items_by_fulfillment_order": by_order,
            "notify_customer": False,
        }
        if payload.get("tracking_number") or payload.get("tracking_company"):
            fulfillment["tracking_info"] = {
                "number": payload.get("tracking_number"),
                "company": payload.get("tracking_company"),
            }
        return {
            "method": "POST",
            "url": self._shopify_admin_url("fulfillments.json"),
            "json": {"fulfillment": fulfillment},
        }

    def _shopify_find_fulfillment(self, payload):
        """The order's fulfillment that already ships ``payload``'s lines (its
        tracking number, else every line in full), or None.

        An earlier attempt whose POST went through but whose transaction was
        rolled back left it there: it is adopted instead of failing.
        """
        response = self._shopify_request(
            "GET", f"orders/{payload['order_id']}/fulfillments.json"
        )
        wanted = {
            str(line["line_item_id"]): line["quantity"] for line in payload["lines"]
        }
        number = payload.get("tracking_number")
        for fulfillment in (response.json() or {}).get("fulfillments") or ():
            if fulfillment.get("status") in ("cancelled", "error", "failure"):
                continue
            if number:
                if number == fulfillment.get("tracking_number") or number in (
                    fulfillment.get("tracking_numbers") or ()
                ):
                    return fulfillment
                continue
            shipped = {
                str(item.get("id")): item.get("quantity", 0)
                for item in fulfillment.get("line_items") or ()
            }
            if all(shipped.get(key, 0) >= qty for key, qty in wanted.items()):
                return fulfillment
        return None

    def _outbox_handle_response(self, message, response):
        if not self._is_shopify():
            return super()._outbox_handle_response(message, response)
        if message.topic == "fulfillment/create":
            fulfillment = (response.json() or {}).get("fulfillment") or {}
            self._shopify_store_fulfillment(message, fulfillment)
        return None

    def _outbox_adopt_delivered(self, message, found):
        if not self._is_shopify():
            return super()._outbox_adopt_delivered(message, found)
        if message.topic == "fulfillment/create":
            self._shopify_store_fulfillment(message, found or {})
        return None

    def _shopify_store_fulfillment(self, message, fulfillment):
        """Remember the Shopify fulfillment of the picking ``message`` ships."""
        picking = (
            self.env["stock.picking"].browse(message.payload["picking_id"]).exists()
        )
        if picking and fulfillment.get("id"):
            picking.shopify_fulfillment_id = str(fulfillment["id"])

    def _outbox_throttle_delay(self, response):
        """Keep one call of headroom in Shopify's leaky bucket."""
        if not self._is_shopify():
            return super()._outbox_throttle_delay(response)
        limit = mapping.parse_call_limit(
            response.headers.get("X-Shopify-Shop-Api-Call-Limit")
        )
        if not limit:
            return None
        used, size = limit
        delay = mapping.bucket_delay(
            used, size or self.shopify_bucket_size, self.shopify_leak_rate
        )
        return delay or None

    # -- reconciliation --------------------------------------------------------------
    # Shopify's hourly pull goes through the core's scheduled reconciliation:
    # from the last run's end, healed at once, visible in the Reconciliation menu.
    SHOPIFY_RECONCILE_DEFAULTS = {
        "reconcile_enabled": True,
        "reconcile_interval_hours": 1,
        "reconcile_from_checkpoint": True,
        "reconcile_auto_heal": True,
    }

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [
            dict(self.SHOPIFY_RECONCILE_DEFAULTS, **vals)
            if vals.get("backend_type") == "shopify"
            else vals
            for vals in vals_list
        ]
        return super().create(vals_list)

    def _shopify_fetch_all(self, path, key, params):
        """Every ``key`` item of a paginated REST listing, following ``Link`` pages."""
        url, items = path, []
        while url:
            response = self._shopify_request("GET", url, params=params)
            items += (response.json() or {}).get(key) or []
            url = mapping.next_page_url(response.headers.get("Link"))
            # the next page URL carries page_info and must not repeat the filters
            params = None
        return items

    def _shopify_fetch_orders(self, date_from, date_to=None):
        """Orders updated in ``[date_from, date_to]``."""
        params = {"status": "any", "limit": 250, "order": "updated_at asc"}
        if date_from:
            params["updated_at_min"] = mapping.format_datetime(date_from)
        if date_to:
            params["updated_at_max"] = mapping.format_datetime(date_to)
        return self._shopify_fetch_all("orders.json", "orders", params)

    # -- product bindings ------------------------------------------------------------
    def action_shopify_link_products(self):
        """Bind the shop's variants to Odoo products of the same SKU."""
        self.ensure_one()
        counts = self._shopify_link_products()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Products linked by SKU"),
                "message": self.env._(
                    "%(linked)s variants linked, %(unknown)s SKUs not found in "
                    "Odoo, %(ambiguous)s SKUs held by several products, "
                    "%(without_sku)s variants without SKU.",
                    **counts,
                ),
                "type": "success" if counts["linked"] else "warning",
                "sticky": bool(counts["unknown"] or counts["ambiguous"]),
            },
        }

    def _shopify_link_products(self):
        """Create or update a product binding (variant and inventory item ids) for
        every shop variant whose SKU is the ``default_code`` of exactly one Odoo
        product; returns the counts of linked, unknown, ambiguous and SKU-less
        variants."""
        self.ensure_one()
        variants = [
            variant
            for product in self._shopify_fetch_all(
                "products.json", "products", {"limit": 250, "fields": "id,variants"}
            )
            for variant in product.get("variants") or ()
        ]
        skus = {variant.get("sku") for variant in variants if variant.get("sku")}
        products = self.env["product.product"].search(
            [
                ("default_code", "in", list(skus)),
                ("company_id", "in", (False, self.company_id.id)),
            ]
        )
        by_sku = {}
        for product in products:
            by_sku.setdefault(product.default_code, []).append(product)
        Binding = self.env["integration.shopify.product.binding"]
        bindings = {
            binding.product_id: binding
            for binding in Binding.search([("backend_id", "=", self.id)])
        }
        counts = dict(linked=0, unknown=0, ambiguous=0, without_sku=0)
        for variant in variants:
            sku = variant.get("sku")
            if not sku:
                counts["without_sku"] += 1
                continue
            matches = by_sku.get(sku, [])
            if len(matches) != 1:
                counts["ambiguous" if matches else "unknown"] += 1
                continue
            values = {
                "shopify_variant_id": str(variant["id"]),
                "inventory_item_id": str(variant["inventory_item_id"])
                if variant.get("inventory_item_id")
                else False,
            }
            binding = bindings.get(matches[0])
            if binding:
                binding.write(values)
            else:
                bindings[matches[0]] = Binding.create(
                    dict(values, backend_id=self.id, product_id=matches[0].id)
                )
            counts["linked"] += 1
        return counts

    def _reconcile(self, date_from, date_to):
        """Orders Shopify has that Odoo lacks (missing) or holds an older version
        of (mismatched), as inbox arguments."""
        if not self._is_shopify():
            return super()._reconcile(date_from, date_to)
        orders = self._shopify_fetch_orders(date_from, date_to)
        bindings = {
            binding.external_id: binding
            for binding in self.env["integration.binding"].search(
                [
                    ("backend_id", "=", self.id),
                    ("res_model", "=", "sale.order"),
                    ("external_id", "in", [str(o["id"]) for o in orders]),
                ]
            )
        }
        items = []
        for order in orders:
            binding = bindings.get(str(order["id"]))
            updated_at = mapping.parse_datetime(order.get("updated_at"))
            if (
                binding
                and binding.external_updated_at
                and updated_at <= binding.external_updated_at
            ):
                continue
            items.append(
                {
                    "topic": "orders/updated" if binding else "orders/create",
                    "payload": order,
                    "idempotency_key": mapping.reconcile_idempotency_key(order),
                    "external_ref": str(order["id"]),
                    "sequence_key": mapping.order_sequence_key(order["id"]),
                    "event_at": updated_at,
                    "status": "mismatched" if binding else "missing",
                }
            )
        return items
