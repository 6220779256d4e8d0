"""Issued keys: ``vk-`` + 32 random bytes in base62; stored only as HMAC-SHA256(pepper, key)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

PREFIX = "vk-"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_LENGTH = len(PREFIX) + 43  # 32 bytes = 256 bits -> 43 base62 digits


def base62(data: bytes, width: int) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out)).rjust(width, "0")


def new_key() -> str:
    return PREFIX + base62(secrets.token_bytes(32), 43)


def looks_like_key(value: str) -> bool:
    """A cheap shape check (no lookup): right prefix, length and alphabet."""
    rest = value[3:]
    return len(value) == KEY_LENGTH and value.startswith(PREFIX) and rest.isascii() and rest.isalnum()  # = _ALPHABET


def key_hash(key: str, pepper: bytes) -> str:
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def display(key: str) -> str:
    """What lists show: the prefix and the first 6 characters, never enough to use."""
    return key[:9] + "…"


def load_pepper(environ: dict[str, str] | os._Environ[str], data_dir: str | None) -> bytes:
    """``VLLORA_KEY_PEPPER``, else a random pepper kept in ``<data dir>/key-pepper`` (mode 0600), made once.

    Several instances on different machines must share ``VLLORA_KEY_PEPPER`` (their keys are hashed with it).
    Without a data dir (tests, in-memory store) the pepper lives as long as the process.
    """
    if environ.get("VLLORA_KEY_PEPPER"):
        return environ["VLLORA_KEY_PEPPER"].encode()
    if data_dir is None:
        return secrets.token_bytes(32)
    path = Path(data_dir) / "key-pepper"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    pepper = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return bytes.fromhex(path.read_text().strip())
    try:
        os.write(fd, pepper.hex().encode())
    finally:
        os.close(fd)
    return pepper
