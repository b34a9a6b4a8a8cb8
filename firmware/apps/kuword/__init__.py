"""Kuword: the keypad door lock (code entry, lockouts, relay, LCD)."""
