"""The fixed DVLT v1 vectors (vectors/dvlt_v1.json, made by vectors/make_dvlt_v1.py).

Stored objects must open for ever, so the format's bytes are pinned here rather
than only checked for round trips, which a change on both sides would still pass.
"""

import io
import json
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vault
from vault.crypto import Decryptor, Encryptor, SpanSealer
from vault.crypto.stream import HEADER_SIZE

SPEC = json.loads((Path(__file__).parent / "vectors" / "dvlt_v1.json").read_text())
VECTORS: list[dict[str, Any]] = SPEC["vectors"]
KEY = bytes.fromhex(SPEC["key"])
CONTEXT = bytes.fromhex(SPEC["context"])


def plaintext(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def encryptor() -> Encryptor:
    return Encryptor(
        KEY,
        object_id=bytes.fromhex(SPEC["object_id"]),
        context=CONTEXT,
        chunk_exp=SPEC["chunk_exp"],
        _salt=bytes.fromhex(SPEC["salt"]),
        _nonce_prefix=bytes.fromhex(SPEC["nonce_prefix"]),
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_the_fixed_inputs_encrypt_to_the_stored_bytes(vector: dict[str, Any]) -> None:
    stream = encryptor()
    blob = stream.header + stream.update(plaintext(vector["plaintext_size"])) + stream.finalize()
    assert blob == bytes.fromhex(vector["ciphertext"])


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_the_stored_bytes_decrypt_to_the_plaintext(vector: dict[str, Any]) -> None:
    size = vector["plaintext_size"]
    reader = io.BytesIO(bytes.fromhex(vector["ciphertext"]))
    decryptor = Decryptor(KEY, reader.read(HEADER_SIZE), context=CONTEXT, plaintext_size=size)
    assert b"".join(decryptor.plaintext(reader)) == plaintext(size)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_split_of_the_input_encrypts_to_the_stored_bytes(data: st.DataObject) -> None:
    vector = data.draw(st.sampled_from(VECTORS), label="vector")
    size = vector["plaintext_size"]
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=6), label="cuts"))
    source = memoryview(plaintext(size))
    stream = encryptor()
    bounds = [0, *cuts, size]
    pieces = [stream.update(source[start:stop]) for start, stop in pairwise(bounds)]
    blob = stream.header + b"".join(pieces) + stream.finalize()
    assert blob == bytes.fromhex(vector["ciphertext"])


def test_fixed_randomness_is_passed_by_tests_only() -> None:
    root = Path(vault.__file__).parent.parent
    allowed = root / "vault" / "crypto" / "stream.py"
    passing = re.compile(r"(?<![\w.])_(salt|nonce_prefix)\s*=(?!=)")
    sources = [
        path for folder in ("vault", "storage", "scripts") for path in (root / folder).rglob("*.py")
    ]
    assert sources
    assert [path for path in sources if path != allowed and passing.search(path.read_text())] == []


def span_sealer(size: int) -> SpanSealer:
    return SpanSealer.create(
        KEY,
        object_id=bytes.fromhex(SPEC["object_id"]),
        context=CONTEXT,
        plaintext_size=size,
        chunk_exp=SPEC["chunk_exp"],
        _salt=bytes.fromhex(SPEC["salt"]),
        _nonce_prefix=bytes.fromhex(SPEC["nonce_prefix"]),
    )


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_spans_sealed_apart_make_the_stored_bytes(data: st.DataObject) -> None:
    """A resumable upload's requests seal the paper's object span by span, each span on its
    own (a resumed sealer checks the header first): the bytes are an Encryptor's."""
    vector = data.draw(st.sampled_from(VECTORS), label="vector")
    size = vector["plaintext_size"]
    step = 1 << SPEC["chunk_exp"]
    chunks = max(1, -(-size // step))
    cuts = data.draw(st.lists(st.integers(1, max(1, chunks - 1)), max_size=3), label="cuts")
    bounds = [0, *(cut * step for cut in sorted(set(cuts)) if cut < chunks), size]
    header = span_sealer(size).header
    source = memoryview(plaintext(size))
    spans = [
        SpanSealer.resume(KEY, header, context=CONTEXT, plaintext_size=size).seal(
            start, source[start:stop]
        )
        for start, stop in pairwise(bounds)
    ]
    assert header + b"".join(spans) == bytes.fromhex(vector["ciphertext"])
    assert [len(s) for s in spans] == [
        span_sealer(size).sealed_size(start, stop - start) for start, stop in pairwise(bounds)
    ]


def test_a_span_that_would_misnumber_or_misflag_a_chunk_is_refused() -> None:
    step = 1 << SPEC["chunk_exp"]
    sealer = span_sealer(3 * step + 7)
    data = plaintext(3 * step + 7)
    with pytest.raises(ValueError):
        sealer.seal(1, data[1 : step + 1])  # not at a chunk boundary
    with pytest.raises(ValueError):
        sealer.seal(0, data[: step + 5])  # a short chunk before the end
    with pytest.raises(ValueError):
        sealer.seal(3 * step, data[3 * step :] + b"more")  # past the object's end
    with pytest.raises(ValueError):
        sealer.seal(step, b"")  # an empty span that is not the whole of an empty object
    with pytest.raises(vault.crypto.IntegrityError):
        SpanSealer.resume(b"\0" * 32, sealer.header, context=CONTEXT, plaintext_size=1)


def test_an_empty_span_past_the_last_chunk_is_refused() -> None:
    """An object of whole chunks ends with its last full chunk: an empty span at its end would
    seal one more chunk, numbered past the last and not final, that no reader opens."""
    step = 1 << SPEC["chunk_exp"]
    sealer = span_sealer(2 * step)
    sealer.seal(0, plaintext(2 * step))
    with pytest.raises(ValueError):
        sealer.seal(2 * step, b"")


def test_the_empty_span_of_an_empty_object_is_its_final_chunk() -> None:
    sealer = span_sealer(0)
    assert sealer.header + sealer.seal(0, b"") == encryptor().header + encryptor().finalize()
