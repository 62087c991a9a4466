"""Encrypted objects in the blob store: sealing a stream into `storage`, opening it again,
and the bundle of infrastructure (store, key ring, sandbox, limits) services are handed.

May import `storage`, `keys`, `crypto` and `kit`; knows no table."""
