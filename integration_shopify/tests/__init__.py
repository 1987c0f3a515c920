from . import test_mapping
from . import test_orders
from . import test_outbound
from . import test_reconcile
from . import test_webhook
from . import test_order_totals
