"""Fee catalogue and qualified contractors (三不指定)."""
