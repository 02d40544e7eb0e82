"""Half-monthly and ad-hoc report pages and downloads."""
