"""Bearer secrets the vault makes."""

from __future__ import annotations

from vault.crypto import hash_token, new_token


def test_a_token_is_256_random_bits_that_never_reads_as_a_command_line_option() -> None:
    drawn = {new_token() for _ in range(5_000)}  # about 78 would begin with "-" otherwise
    assert len(drawn) == 5_000
    assert all(len(token) == 43 and not token.startswith("-") for token in drawn)
    assert {token[0] for token in drawn} >= {"_", "A", "z", "0"}
    assert len({hash_token(token) for token in drawn}) == 5_000
