from . import integration_retry_policy
from . import integration_secret
from . import integration_secret_mixin
from . import integration_backend
from . import integration_message_mixin
from . import integration_message_attempt
from . import integration_inbox_message
from . import integration_outbox_message
