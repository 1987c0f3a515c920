from . import integration_message_ignore_wizard
