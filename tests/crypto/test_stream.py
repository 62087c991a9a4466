import functools
import io
import os
import random
import uuid
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.crypto import (
    CHUNK_SIZE,
    Decryptor,
    Encryptor,
    IntegrityError,
    SeekablePlaintext,
    StreamStateError,
    ciphertext_size,
    encrypt_bytes,
)
from vault.crypto.stream import (
    HEADER_SIZE,
    MAX_CHUNK_EXP,
    MIN_CHUNK_EXP,
    TAG_SIZE,
    SegmentCipher,
    chunk_count,
)

EXP = 16
CHUNK = 1 << EXP
STRIDE = CHUNK + TAG_SIZE
CONTEXT = b"dvlt/v1/ctx-test"
DEK = b"k" * 32
BOUNDARIES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK, 3 * CHUNK + 7]


def encrypt(data: bytes, *, dek: bytes, context: bytes = CONTEXT, pieces: int = 3) -> bytes:
    encryptor = Encryptor(dek, object_id=uuid.uuid4().bytes, context=context, chunk_exp=EXP)
    out = [encryptor.header]
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        out.append(encryptor.update(data[i : i + step]))
    out.append(encryptor.finalize())
    return b"".join(out)


def decrypt(blob: bytes, size: int, *, dek: bytes, context: bytes = CONTEXT) -> bytes:
    reader = io.BytesIO(blob)
    decryptor = Decryptor(dek, reader.read(HEADER_SIZE), context=context, plaintext_size=size)
    return b"".join(decryptor.plaintext(reader))


@functools.cache
def sealed(size: int) -> tuple[bytes, bytes]:
    """A plaintext and its ciphertext under DEK, made once so that examples replay exactly."""
    plaintext = random.Random(size).randbytes(size)
    return plaintext, encrypt(plaintext, dek=DEK)


def chunk_at(offset: int) -> int:
    return max(0, offset - HEADER_SIZE) // STRIDE


def chunks_of(blob: bytes) -> list[bytes]:
    return [blob[start : start + STRIDE] for start in range(HEADER_SIZE, len(blob), STRIDE)]


def assert_refused(blob: bytes, plaintext: bytes, *, bad_chunk: int) -> None:
    """Reading fails, and what it released before failing is verified plaintext of the
    chunks before `bad_chunk` only: nothing of the damaged chunk or after it."""
    released: list[bytes] = []
    reader = io.BytesIO(blob)
    with pytest.raises(IntegrityError):
        header = reader.read(HEADER_SIZE)
        decryptor = Decryptor(DEK, header, context=CONTEXT, plaintext_size=len(plaintext))
        for piece in decryptor.plaintext(reader):
            released.append(piece)
    out = b"".join(released)
    assert len(out) <= bad_chunk * CHUNK
    assert out == plaintext[: len(out)]


@pytest.fixture
def dek() -> bytes:
    return os.urandom(32)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_round_trip_at_every_chunk_boundary(dek: bytes, size: int) -> None:
    data = os.urandom(size)
    blob = encrypt(data, dek=dek)
    assert len(blob) == ciphertext_size(size, EXP)
    assert decrypt(blob, size, dek=dek) == data


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_size_split_any_way_round_trips(data: st.DataObject) -> None:
    size = data.draw(st.sampled_from(BOUNDARIES) | st.integers(0, 3 * CHUNK + 100), label="size")
    cuts = data.draw(st.lists(st.integers(0, size), max_size=8), label="cuts")
    plaintext = random.Random(size).randbytes(size)
    source = memoryview(plaintext) if data.draw(st.booleans(), label="views") else plaintext
    encryptor = Encryptor(DEK, object_id=bytes(16), context=CONTEXT, chunk_exp=EXP)
    out, sealed_chunks = [encryptor.header], 0
    bounds = [0, *sorted(cuts), size]
    for start, stop in pairwise(bounds):
        piece = encryptor.update(source[start:stop])
        assert isinstance(piece, bytes) and len(piece) % STRIDE == 0
        sealed_chunks += len(piece) // STRIDE
        # At most one chunk is held back, and at least one byte: finalize seals the last chunk.
        assert stop == 0 or 0 < stop - sealed_chunks * CHUNK <= CHUNK
        out.append(piece)
    out.append(encryptor.finalize())
    blob = b"".join(out)
    assert encryptor.plaintext_size == size
    assert len(blob) == ciphertext_size(size, EXP)
    assert decrypt(blob, size, dek=DEK) == plaintext


def test_a_finalized_stream_refuses_more(dek: bytes) -> None:
    encryptor = Encryptor(dek, object_id=bytes(16), context=CONTEXT, chunk_exp=EXP)
    assert encryptor.update(b"paper") == b""
    final = encryptor.finalize()
    with pytest.raises(StreamStateError):
        encryptor.update(b"more")
    with pytest.raises(StreamStateError):
        encryptor.update(b"")
    with pytest.raises(StreamStateError):
        encryptor.finalize()
    assert encryptor.plaintext_size == 5
    assert decrypt(encryptor.header + final, 5, dek=dek) == b"paper"


@pytest.mark.parametrize(
    "bad",
    [{"chunk_exp": MIN_CHUNK_EXP - 1}, {"chunk_exp": MAX_CHUNK_EXP + 1}, {"_salt": bytes(31)}],
    ids=["chunk-too-small", "chunk-too-large", "short-salt"],
)
def test_a_writer_refuses_to_make_what_no_reader_opens(dek: bytes, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Encryptor(dek, object_id=bytes(16), context=CONTEXT, **bad)


def test_encrypt_bytes_opens_like_a_stream(dek: bytes) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 1)
    blob = encrypt_bytes(dek, data, object_id=bytes(16), context=CONTEXT)
    assert len(blob) == ciphertext_size(len(data))
    assert decrypt(blob, len(data), dek=dek) == data


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_a_stream_missing_its_final_chunk_raises(dek: bytes, size: int) -> None:
    data = os.urandom(size)
    blob = encrypt(data, dek=dek)
    chunks = chunk_count(size, EXP)
    cut = blob[: HEADER_SIZE + (chunks - 1) * STRIDE]
    with pytest.raises(IntegrityError):
        decrypt(cut, size, dek=dek)
    # Even a reader told the shorter size refuses: the last chunk it sees is not marked final.
    with pytest.raises(IntegrityError):
        decrypt(cut, (chunks - 1) * CHUNK, dek=dek)


def test_same_plaintext_twice_gives_unrelated_ciphertexts(dek: bytes) -> None:
    data = b"x" * 1000
    first, second = encrypt(data, dek=dek), encrypt(data, dek=dek)
    assert first[24:63] != second[24:63]  # salt and nonce prefix
    assert first[HEADER_SIZE:] != second[HEADER_SIZE:]


TAMPERED_SIZES = st.sampled_from([0, 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7])
TAMPERING = settings(max_examples=150, deadline=None)


@TAMPERING
@given(data=st.data())
def test_any_flipped_bit_is_detected_before_its_chunk_is_released(data: st.DataObject) -> None:
    plaintext, blob = sealed(data.draw(TAMPERED_SIZES, label="size"))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1), label="bit")
    tampered = bytearray(blob)
    tampered[bit // 8] ^= 1 << (bit % 8)
    assert_refused(bytes(tampered), plaintext, bad_chunk=chunk_at(bit // 8))


@TAMPERING
@given(data=st.data())
def test_any_changed_header_is_refused_before_any_chunk(data: st.DataObject) -> None:
    plaintext, blob = sealed(data.draw(TAMPERED_SIZES, label="size"))
    offset = data.draw(st.integers(0, HEADER_SIZE - 1), label="offset")
    tampered = bytearray(blob)
    tampered[offset] ^= data.draw(st.integers(1, 255), label="change")
    assert_refused(bytes(tampered), plaintext, bad_chunk=0)


@TAMPERING
@given(data=st.data())
def test_any_truncation_is_detected(data: st.DataObject) -> None:
    plaintext, blob = sealed(data.draw(TAMPERED_SIZES, label="size"))
    starts = range(HEADER_SIZE, len(blob), STRIDE)
    cut = data.draw(st.sampled_from(starts) | st.integers(0, len(blob) - 1), label="cut")
    assert_refused(blob[:cut], plaintext, bad_chunk=chunk_at(cut))


@TAMPERING
@given(data=st.data())
def test_any_bytes_after_the_final_chunk_are_detected(data: st.DataObject) -> None:
    plaintext, blob = sealed(data.draw(TAMPERED_SIZES, label="size"))
    chunks = chunks_of(blob)
    extra = data.draw(st.sampled_from(chunks) | st.binary(min_size=1), label="extra")
    assert_refused(blob + extra, plaintext, bad_chunk=len(chunks) - 1)


@TAMPERING
@given(data=st.data())
def test_swapped_and_duplicated_chunks_are_detected(data: st.DataObject) -> None:
    plaintext, blob = sealed(data.draw(st.sampled_from([CHUNK + 1, 2 * CHUNK + 7, 3 * CHUNK])))
    chunks = chunks_of(blob)
    first, second = sorted(data.draw(st.permutations(range(len(chunks))), label="pair")[:2])
    if data.draw(st.booleans(), label="duplicate"):
        chunks[second] = chunks[first]
        bad = second
    else:
        chunks[first], chunks[second] = chunks[second], chunks[first]
        bad = first
    assert_refused(blob[:HEADER_SIZE] + b"".join(chunks), plaintext, bad_chunk=bad)


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
