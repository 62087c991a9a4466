"""The key hierarchy: master key file → citizen keys (table `citizen_key`) → data keys, the
index key of national ID numbers (table `index_key`) and agencies' signing keys (`agency_key`).

Owns the `citizen_key`, `master_key_check`, `index_key` and `agency_key` tables and the key
ring. May import `vault.crypto`, `vault.db` and `vault.kit`; never a domain package."""

from vault.keys.keyring import Keyring, ObjectBinding, unwrap_data_key, wrap_data_key

__all__ = ["Keyring", "ObjectBinding", "unwrap_data_key", "wrap_data_key"]
