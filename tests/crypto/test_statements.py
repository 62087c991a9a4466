"""Ed25519 statements, pinned to RFC 8032 §7.1 test vector 1, and refused when anything changes."""

from vault.crypto import statements

# RFC 8032, section 7.1, TEST 1 (an empty message).
SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
    "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_rfc_8032_vector_1() -> None:
    assert statements.public_key_of(SECRET) == PUBLIC
    assert statements.sign(SECRET, b"") == SIGNATURE
    assert statements.verify(PUBLIC, b"", SIGNATURE)


def test_a_changed_statement_signature_or_key_does_not_verify() -> None:
    key = statements.new_signing_key()
    public = statements.public_key_of(key)
    signature = statements.sign(key, b'{"sha256":"00"}')
    assert statements.verify(public, b'{"sha256":"00"}', signature)
    assert not statements.verify(public, b'{"sha256":"01"}', signature)
    assert not statements.verify(
        public, b'{"sha256":"00"}', bytes([signature[0] ^ 1]) + signature[1:]
    )
    other = statements.public_key_of(statements.new_signing_key())
    assert not statements.verify(other, b'{"sha256":"00"}', signature)
    assert not statements.verify(public[:31], b'{"sha256":"00"}', signature)
