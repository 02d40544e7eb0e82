"""Follow-up calls (回访), visits (走访), supervision cases (稽查), contractor concentration."""
