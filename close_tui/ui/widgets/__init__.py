"""Reusable widgets of the close-tui screens (one per module)."""
