"""Safe expression parser and gate graph with forward and backward passes (pure Python/numpy)."""
