"""Background jobs: django-tasks wiring, retries, the single scheduler lease."""
