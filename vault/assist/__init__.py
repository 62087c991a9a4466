"""Assisted service: an officer at the one-stop counter, or a family member, acts for a citizen
with the citizen's consent; certified copies; recovery at the counter.

Owns the `assist_request` table (and, as they land, delegations, dependents and
certifications). The acting tokens themselves are `vault.accounts.acting`. May import
`documents`, `accounts`, `notices`, `agencies`, `audit`, `catalog` and the layers below."""
