"""Optimizer step functions, schedules, clipping and the descend() driver (pure numpy)."""
