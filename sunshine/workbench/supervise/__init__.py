"""Leader supervision (挂牌督办) and deadline-supervision pages."""
