from . import integration_shopify_location
from . import integration_shopify_product_binding
from . import integration_backend
from . import integration_event
from . import stock_picking
from . import stock_quant
