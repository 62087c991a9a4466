"""The production password hash: Argon2id at no less than RFC 9106's second recommended
option (t=3, m=64 MiB, p=4), whatever the tests' own cheaper hasher does."""

from argon2 import Type, extract_parameters

from vault.accounts import logins


def test_the_password_hash_is_argon2id_at_the_recommended_cost() -> None:
    parameters = extract_parameters(logins._DUMMY_HASH)
    assert parameters.type is Type.ID
    assert parameters.time_cost >= 3
    assert parameters.memory_cost >= 64 * 1024
    assert parameters.parallelism >= 4
