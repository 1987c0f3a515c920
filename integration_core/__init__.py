from . import controllers
from . import models
from . import wizards
from . import pool_reset
from . import wsgi_intake

# At import, not in a post_load hook: Odoo skips that hook for a package
# imported before its registry loads it (as test runners do), and the intake
# and the pool's reset must be the same in every process that serves this
# module.
wsgi_intake.install()
pool_reset.install()
