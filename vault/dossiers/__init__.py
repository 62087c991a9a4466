"""Dossiers (hồ sơ) for administrative procedures that reuse the papers the vault holds:
the rules for reuse, the citizen's and the agency's sides, and the reuse figures."""
