"""Published non-personal report sections (open data)."""
