"""Turning what a citizen uploads into what the vault stores: sniffing, normalising, checking."""
