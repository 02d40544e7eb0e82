"""Promise-keeping statistics: aggregate tables refreshed by jobs."""
