class IntegrityError(Exception):
    """Ciphertext, header, wrapped key or context do not match: the bytes are refused.

    One exception for every failure, as in Tink and pyca: callers must not be able
    to tell a wrong key from a flipped bit, and must never get partial plaintext.
    """
