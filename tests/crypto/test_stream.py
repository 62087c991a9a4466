import io
import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.crypto import Decryptor, Encryptor, IntegrityError, SeekablePlaintext, ciphertext_size
from vault.crypto.stream import HEADER_SIZE, TAG_SIZE, SegmentCipher

EXP = 16
CHUNK = 1 << EXP
CONTEXT = b"dvlt/v1/ctx-test"


def encrypt(data: bytes, *, dek: bytes, context: bytes = CONTEXT, pieces: int = 3) -> bytes:
    encryptor = Encryptor(dek, object_id=uuid.uuid4().bytes, context=context, chunk_exp=EXP)
    out = [encryptor.header]
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        out.extend(encryptor.update(data[i : i + step]))
    out.append(encryptor.finalize())
    return b"".join(out)


def decrypt(blob: bytes, size: int, *, dek: bytes, context: bytes = CONTEXT) -> bytes:
    reader = io.BytesIO(blob)
    decryptor = Decryptor(dek, reader.read(HEADER_SIZE), context=context, plaintext_size=size)
    return b"".join(decryptor.plaintext(reader))


@pytest.fixture
def dek() -> bytes:
    return os.urandom(32)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_round_trip_at_every_chunk_boundary(dek: bytes, size: int) -> None:
    data = os.urandom(size)
    blob = encrypt(data, dek=dek)
    assert len(blob) == ciphertext_size(size, EXP)
    assert decrypt(blob, size, dek=dek) == data


def test_same_plaintext_twice_gives_unrelated_ciphertexts(dek: bytes) -> None:
    data = b"x" * 1000
    first, second = encrypt(data, dek=dek), encrypt(data, dek=dek)
    assert first[24:63] != second[24:63]  # salt and nonce prefix
    assert first[HEADER_SIZE:] != second[HEADER_SIZE:]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_is_detected(data: st.DataObject) -> None:
    dek = b"k" * 32
    plaintext = bytes(range(256)) * 600  # three chunks
    blob = bytearray(encrypt(plaintext, dek=dek))
    position = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[position // 8] ^= 1 << (position % 8)
    with pytest.raises(IntegrityError):
        decrypt(bytes(blob), len(plaintext), dek=dek)


def test_truncation_at_a_chunk_boundary_is_detected(dek: bytes) -> None:
    data = os.urandom(3 * CHUNK)
    blob = encrypt(data, dek=dek)
    cut = HEADER_SIZE + 2 * (CHUNK + TAG_SIZE)
    with pytest.raises(IntegrityError):
        decrypt(blob[:cut], len(data), dek=dek)
    # Even a reader told the shorter size refuses: the last chunk it sees is not marked final.
    with pytest.raises(IntegrityError):
        decrypt(blob[:cut], 2 * CHUNK, dek=dek)


def test_truncation_mid_chunk_and_appended_bytes_are_detected(dek: bytes) -> None:
    data = os.urandom(2 * CHUNK + 5)
    blob = encrypt(data, dek=dek)
    with pytest.raises(IntegrityError):
        decrypt(blob[:-3], len(data), dek=dek)
    with pytest.raises(IntegrityError):
        decrypt(blob + b"\x00", len(data), dek=dek)


def test_swapped_and_duplicated_chunks_are_detected(dek: bytes) -> None:
    data = os.urandom(3 * CHUNK)
    blob = encrypt(data, dek=dek)
    stride = CHUNK + TAG_SIZE
    chunks = [blob[HEADER_SIZE + i * stride : HEADER_SIZE + (i + 1) * stride] for i in range(3)]
    swapped = blob[:HEADER_SIZE] + chunks[1] + chunks[0] + chunks[2]
    duplicated = blob[:HEADER_SIZE] + chunks[0] + chunks[0] + chunks[2]
    for tampered in (swapped, duplicated):
        with pytest.raises(IntegrityError):
            decrypt(tampered, len(data), dek=dek)


def test_chunk_spliced_from_another_object_under_the_same_key_is_detected(dek: bytes) -> None:
    first, second = os.urandom(CHUNK + 10), os.urandom(CHUNK + 10)
    blob_a, blob_b = encrypt(first, dek=dek), encrypt(second, dek=dek)
    tail = HEADER_SIZE + CHUNK + TAG_SIZE
    with pytest.raises(IntegrityError):
        decrypt(blob_a[:tail] + blob_b[tail:], len(first), dek=dek)


def test_other_context_or_key_does_not_open(dek: bytes) -> None:
    blob = encrypt(b"paper", dek=dek)
    with pytest.raises(IntegrityError):
        decrypt(blob, 5, dek=dek, context=b"dvlt/v1/ctx-other")
    with pytest.raises(IntegrityError):
        decrypt(blob, 5, dek=os.urandom(32))


@pytest.mark.parametrize(
    ("offset", "value"),
    [(4, 2), (5, 9), (6, 15), (6, 23), (7, 1), (0, ord("X"))],
    ids=["version", "suite", "chunk-too-small", "chunk-too-large", "reserved", "magic"],
)
def test_malformed_headers_are_refused_before_any_chunk(
    dek: bytes, offset: int, value: int
) -> None:
    header = bytearray(encrypt(b"x" * 100, dek=dek)[:HEADER_SIZE])
    header[offset] = value
    with pytest.raises(IntegrityError):
        SegmentCipher.from_header(dek, bytes(header), context=CONTEXT)


def test_changed_commitment_is_refused(dek: bytes) -> None:
    header = bytearray(encrypt(b"x", dek=dek)[:HEADER_SIZE])
    header[-1] ^= 0x80
    with pytest.raises(IntegrityError, match="commitment"):
        SegmentCipher.from_header(dek, bytes(header), context=CONTEXT)


@pytest.mark.parametrize(
    ("start", "stop"),
    [(0, 10), (CHUNK - 3, CHUNK + 3), (5, 3 * CHUNK + 7), (3 * CHUNK, 3 * CHUNK + 7)],
)
def test_ranges_decrypt_only_the_chunks_they_need(dek: bytes, start: int, stop: int) -> None:
    data = os.urandom(3 * CHUNK + 7)
    blob = encrypt(data, dek=dek)
    decryptor = Decryptor(dek, blob[:HEADER_SIZE], context=CONTEXT, plaintext_size=len(data))
    _, _, offset, length = decryptor.span(start, stop)
    piece = b"".join(decryptor.plaintext(io.BytesIO(blob[offset : offset + length]), start, stop))
    assert piece == data[start:stop]


def test_seekable_view_reads_like_a_file(dek: bytes) -> None:
    data = os.urandom(4 * CHUNK + 99)
    blob = encrypt(data, dek=dek)
    decryptor = Decryptor(dek, blob[:HEADER_SIZE], context=CONTEXT, plaintext_size=len(data))
    view = SeekablePlaintext(
        decryptor, lambda offset, length: blob[offset : offset + length], cached_chunks=2
    )
    reader = io.BufferedReader(view)
    reader.seek(-50, io.SEEK_END)
    assert reader.read() == data[-50:]
    reader.seek(CHUNK - 10)
    assert reader.read(CHUNK) == data[CHUNK - 10 : 2 * CHUNK - 10]
    reader.seek(0)
    assert reader.read() == data


def test_no_nonce_repeats_across_many_objects() -> None:
    seen = set()
    for _ in range(10_000):
        header, _ = SegmentCipher.create(os.urandom(32), object_id=b"\x00" * 16, context=CONTEXT)
        seen.add(header[24:63])
    assert len(seen) == 10_000
