"""Checking and normalising what a citizen uploads: sniffing the type, images, PDFs.

Runs inside the sandbox; imports only `vault.kit` and `vault.crypto`."""
