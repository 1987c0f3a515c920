from . import test_mapping
from . import test_orders
