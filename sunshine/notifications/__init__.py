"""Outbox, templates and channels (SMS, e-mail, in-app inbox)."""
