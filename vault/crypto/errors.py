class IntegrityError(Exception):
    """Ciphertext, header, wrapped key or context do not match: the bytes are refused.

    One exception for every failure, as in Tink and pyca: callers must not be able
    to tell a wrong key from a flipped bit, and must never get partial plaintext.
    """


class StreamStateError(Exception):
    """A stream was used after it was finished (`update` or `finalize` after `finalize`).

    A programming error, not bad data: neither an IntegrityError, which would report a
    sound document as damaged, nor a ValueError, which input parsing catches as the
    client's fault. Refused because a second final chunk would reuse the final nonce.
    """
