"""Customer-manager evaluation (考核): periods, scores, frozen snapshots."""
