"""Customer-manager evaluation pages."""
