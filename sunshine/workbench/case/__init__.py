"""The staff application page and its action panel."""
