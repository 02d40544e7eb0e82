"""Time-limit supervision: stored rung moments, sweep, escalation ladder, leader supervision."""
