"""Follow-up call scripts, visits, supervision cases, evaluation pages."""
