"""Shared services for every Kampung IT device (runs on the board)."""
