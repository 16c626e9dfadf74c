"""Encrypted attachments: decrypt what a member sent, re-encrypt what goes into an encrypted room.

In an encrypted room media is uploaded encrypted (AES-CTR, key in the event's `file`, which the
room's Megolm encryption protects); the homeserver only ever holds ciphertext. The relay copies
media between a citizen's DM and an officers' room with a fresh upload each way, so each side's
file is decrypted here and, when the other room is encrypted too, encrypted again with a new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mautrix.crypto.attachments import decrypt_attachment, encrypt_attachment

FILE_KEYS = ("url", "key", "iv", "hashes", "v")
JWK_KEYS = ("kty", "key_ops", "alg", "k", "ext")


def clean_file(value: Any) -> dict[str, Any] | None:
    """The `file` of an encrypted attachment with only the fields the spec defines, or None."""
    if not isinstance(value, Mapping):
        return None
    url, key, hashes = value.get("url"), value.get("key"), value.get("hashes")
    if not (isinstance(url, str) and url.startswith("mxc://") and isinstance(key, Mapping)
            and isinstance(key.get("k"), str) and isinstance(value.get("iv"), str)
            and isinstance(hashes, Mapping) and isinstance(hashes.get("sha256"), str)):
        return None
    return {
        "url": url, "iv": value["iv"], "v": str(value.get("v", "v2")),
        "hashes": {"sha256": hashes["sha256"]},
        "key": {k: key[k] for k in JWK_KEYS if k in key},
    }


def decrypt_file(data: bytes, file: Mapping[str, Any]) -> bytes:
    """Raises mautrix's DecryptionError if the hash does not match."""
    return decrypt_attachment(data, file["key"]["k"], file["hashes"]["sha256"], file["iv"])


def encrypt_file(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """(ciphertext, `file` without its url: set it after uploading the ciphertext)."""
    ciphertext, info = encrypt_attachment(data)
    file = info.serialize()
    file.pop("url", None)
    return ciphertext, file
