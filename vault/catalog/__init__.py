"""What the vault knows of Vietnamese administration: document types and procedures with
the papers each one asks for.

Owns the `procedure` table. May import `db` and `kit`."""
