"""Settings of the worker processes of tests/test_faults_pg.py's reaction test: production
settings plus one reaction that logs every run and can hold (tests/fault_reactions.py)."""

from sunshine.settings import *  # noqa: F403

SUNSHINE_EVENT_REACTIONS = [*SUNSHINE_EVENT_REACTIONS, "tests.fault_reactions.log_and_hold"]  # noqa: F405
