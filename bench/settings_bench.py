"""Settings for ``make bench`` only: the production settings plus two bare baseline views.

Never used by the application itself; ``bench/run.py`` points gunicorn at this module.
"""

from sunshine.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
