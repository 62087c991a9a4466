"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, and the tlog checkpoint they carry
(c2sp.org/tlog-checkpoint): the formats transparency logs, witnesses and monitors share.

A note is text ending in a newline, a blank line, then signature lines
`— <name> <base64(key id ‖ signature)>`; the signature covers the text, final newline
included. A key id is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), and a
verifier key is published as `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from vault.crypto import statements

ED25519 = b"\x01"
_DASH = "\u2014 "
_MAX_SIGNATURES = 100


class NoteError(Exception):
    """Not a note, not a checkpoint, or not signed by the key given."""


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: bytes


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def _check_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError("a key name is non-empty, with no space and no '+'")
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    encoded = base64.b64encode(ED25519 + public_key).decode()
    return f"{_check_name(name)}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> Verifier:
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        key = base64.b64decode(encoded, validate=True)
        wanted = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error):
        raise NoteError("not a verifier key (name+keyhash+base64 key)") from None
    if len(hex_id) != 8 or len(key) != 33 or key[:1] != ED25519:
        raise NoteError("not an Ed25519 verifier key")
    public = key[1:]
    if key_id(_check_name(name), public) != wanted:
        raise NoteError("the verifier key's hash does not match its key")
    return Verifier(name, wanted, public)


def sign(text: str, name: str, private_key: bytes) -> str:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends with one newline and has no blank line")
    public = statements.public_key_of(private_key)
    signature = statements.sign(private_key, text.encode())
    line = base64.b64encode(key_id(_check_name(name), public) + signature).decode()
    return f"{text}\n{_DASH}{name} {line}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text, if `verifier` signed it; lines of other keys are ignored (a witness's
    cosignature), as the spec requires."""
    text, blank, signatures = note.rpartition("\n\n")
    if not blank or not signatures.endswith("\n"):
        raise NoteError("not a signed note")
    text += "\n"
    lines = signatures[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError("too many signatures")
    for line in lines:
        name, _, encoded = line.removeprefix(_DASH).rpartition(" ")
        if not line.startswith(_DASH) or not name:
            raise NoteError("a malformed signature line")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("a malformed signature line") from None
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue
        if statements.verify(verifier.public_key, text.encode(), raw[4:]):
            return text
        raise NoteError(f"the signature of {name} does not verify")
    raise NoteError(f"the note is not signed by {verifier.name}+{verifier.key_id.hex()}")


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{_check_name(origin)}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    try:
        origin, size, encoded = lines[0], int(lines[1]), lines[2]
        root = base64.b64decode(encoded, validate=True)
    except (IndexError, ValueError, binascii.Error):
        raise NoteError("not a checkpoint (origin, tree size, root hash)") from None
    if not origin or size < 0 or len(root) != 32 or lines[1] != str(size):
        raise NoteError("not a checkpoint (origin, tree size, root hash)")
    return Checkpoint(origin, size, root)
