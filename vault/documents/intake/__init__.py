"""Checking and normalising what a citizen uploads: sniffing the type, images, PDFs.

Runs inside the sandbox; imports only `vault.kit` and `vault.crypto`."""

# What the sandbox's workers import before the first upload arrives.
SANDBOX_PRELOAD = ("vault.documents.intake.images", "vault.documents.intake.pdfs", "pypdfium2")
