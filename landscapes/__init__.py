"""Loss surfaces and 1-D curves with exact gradients (pure numpy). See shared DESIGN.md."""
