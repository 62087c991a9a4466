"""Notices to citizens: an inbox in the vault, and the channels that carry them out."""
