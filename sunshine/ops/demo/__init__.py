"""Demo data for ``manage.py seed_demo`` and ``make run``: accounts, areas and what each app shows."""
