"""What the operations team sees of a running installation (docs/deploy.md#monitoring): the
request id carried through logs and jobs (``context``), log formats (``logs``), the Prometheus
metrics every process records (``metrics``) and the database query meter (``db``).

Infrastructure, like ``sunshine/caching.py``: it imports Django and prometheus_client only, never
a domain or delivery app, so every layer may use it.
"""
