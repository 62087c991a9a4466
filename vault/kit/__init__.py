"""Small tools every layer may use: Vietnam's calendar days, visible text, safe file names,
the domain errors, rate budgets and the parser sandbox.

Imports nothing of the vault but `vault.crypto`; knows nothing of tables, HTTP or keys."""
