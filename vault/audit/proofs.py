"""Checking an audit proof offline, trusting nothing but the operator's published verifier key:
the same four steps the README shows in a few lines of Python.

1. The checkpoint is a signed note that verifies with the key; its text gives the tree size
   and root.
2. The events form one chain from its first link: each `hash` recomputes from its fields and
   each `prev_hash` is the hash before it.
3. `leaf_hash` is SHA-256(0x00 ‖ the last event's hash, as 32 bytes).
4. The inclusion path leads from that leaf, at `leaf_index`, to the checkpoint's root.

An export's `audit.json` holds such a proof under `proof`, and the whole chain under `events`:
the proof's events must be the start of it, and the rest must go on linking.
"""

from __future__ import annotations

from typing import Any

from vault.audit.log import GENESIS, hash_of
from vault.crypto import merkle, notes


def problems(document: dict[str, Any], verifier_key: str) -> list[str]:
    """What is wrong with the proof (or the export's audit.json); empty when it holds."""
    try:
        if "proof" in document:
            return _export_problems(document, verifier_key)
        return _proof_problems(document, verifier_key)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return [f"not an audit proof: {type(error).__name__} {error}"]


def _proof_problems(proof: dict[str, Any], verifier_key: str) -> list[str]:
    try:
        verifier = notes.parse_verifier_key(verifier_key)
        checkpoint = notes.parse_checkpoint(notes.open_note(proof["checkpoint"], verifier))
    except notes.NoteError as error:
        return [f"checkpoint: {error}"]
    found = []
    if int(proof["tree_size"]) != checkpoint.size:
        found.append("tree_size is not the checkpoint's")
    events = proof["events"]
    found += chain_problems(events)
    if not events:
        return [*found, "the proof holds no event"]
    leaf = merkle.leaf_hash(bytes.fromhex(events[-1]["hash"]))
    if bytes.fromhex(proof["leaf_hash"]) != leaf:
        found.append("leaf_hash is not the leaf of the last event")
    path = [bytes.fromhex(node) for node in proof["inclusion"]]
    reached = merkle.root_from_inclusion(int(proof["leaf_index"]), checkpoint.size, leaf, path)
    if reached != checkpoint.root:
        found.append("the inclusion path does not lead to the checkpoint's root")
    return found


def proof_of(document: dict[str, Any]) -> dict[str, Any]:
    """The proof itself, given a proof or an export's audit.json (which holds one)."""
    found: dict[str, Any] = document.get("proof") or document
    return found


def later_problems(earlier: dict[str, Any], later: dict[str, Any]) -> list[str]:
    """What a later proof (or export) of the same chain drops or changes of an earlier one.
    One proof shows the chain only up to the latest event its checkpoint covers: events cut
    off its end, or rewritten there and given new leaves, are seen only against a proof kept
    from before."""
    try:
        old, new = proof_of(earlier)["events"], proof_of(later)["events"]
        if old and new and old[0]["chain"] != new[0]["chain"]:
            return ["the two proofs are of different chains"]
        old_size, new_size = int(proof_of(earlier)["tree_size"]), int(proof_of(later)["tree_size"])
        found = []
        if new_size < old_size:
            found.append(f"the log shrank: a checkpoint of {new_size} after one of {old_size}")
        for event in old:
            number = int(event["seq"])
            if number > len(new):
                found.append(
                    f"events from seq {number} on, in the earlier proof, are gone from this one"
                )
                break
            if new[number - 1]["hash"] != event["hash"]:
                found.append(f"event seq {number} is not the one the earlier proof held")
                break
        return found
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return [f"not an audit proof: {type(error).__name__} {error}"]


def chain_problems(events: list[dict[str, Any]]) -> list[str]:
    previous, chain = GENESIS, events[0]["chain"] if events else None
    for number, event in enumerate(events, start=1):
        where = f"event {number} (seq {event.get('seq')})"
        if event["chain"] != chain or event["seq"] != number:
            return [f"{where}: the chain does not run 1, 2, 3… (an event is missing)"]
        if event["prev_hash"] != previous:
            return [f"{where}: does not follow the event before it"]
        if hash_of(event) != event["hash"]:
            return [f"{where}: its hash does not match its fields (it was changed)"]
        previous = event["hash"]
    return []


def _export_problems(document: dict[str, Any], verifier_key: str) -> list[str]:
    proof = document["proof"]
    if proof is None:
        return ["the export holds no proof: no checkpoint covered the log yet"]
    found = _proof_problems(proof, verifier_key)
    events = document["events"]
    covered = proof["events"]
    if events[: len(covered)] != covered:
        found.append("the exported chain does not start with the proven events")
    return found + chain_problems(events)
