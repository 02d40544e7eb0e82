"""Public fees, contractors and statistics pages."""
