from . import integration_backend
from . import integration_backend_outbound
from . import integration_outbox_message
from . import integration_tracking_line
from . import delivery_carrier
from . import stock_picking
