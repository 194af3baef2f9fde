"""Signed opaque tokens: usage cursors and change-feed positions.

Tagged with HMAC-SHA256 under the deployment's secret (``SHARELOG_SECRET_KEY``,
else one generated once and kept in the database, so that every process and a
read replica agree), over the token's kind, the account and the payload: a
token is refused by another account and cannot be passed off as another kind.
A previous secret (``SHARELOG_SECRET_KEY_PREVIOUS``) still verifies, for rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections.abc import Callable

_TAG_BYTES = 16


class Signer:
    def __init__(self, current: str, previous: str = "", stored: Callable[[], str] | None = None):
        self._configured = [s.encode() for s in (current, previous) if s]
        self._stored = stored
        self._keys: list[bytes] | None = list(self._configured) if current else None
        self._lock = threading.Lock()

    def _signing_keys(self) -> list[bytes]:
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    assert self._stored is not None, "no secret configured and none stored"
                    self._keys = [self._stored().encode(), *self._configured]
        return self._keys

    @staticmethod
    def _tag(key: bytes, kind: str, account_id: int, payload: bytes) -> bytes:
        message = f"{kind}\n{account_id}\n".encode() + payload
        return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]

    def seal(self, kind: str, account_id: int, payload: bytes) -> str:
        """An opaque, URL-safe token holding ``payload``."""
        tag = self._tag(self._signing_keys()[0], kind, account_id, payload)
        return base64.urlsafe_b64encode(tag + payload).decode("ascii").rstrip("=")

    def digest(self, kind: str, account_id: int, payload: bytes) -> str:
        """A short URL-safe name for ``payload`` that only this deployment can make
        (ETags: opaque, and all new once the secret changes)."""
        tag = self._tag(self._signing_keys()[0], kind, account_id, payload)
        return base64.urlsafe_b64encode(tag).decode("ascii").rstrip("=")

    def open(self, kind: str, account_id: int, token: str) -> bytes | None:
        """The payload of a token this deployment sealed for this account and kind, else None."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if len(tag) < _TAG_BYTES:
            return None
        for key in self._signing_keys():
            if hmac.compare_digest(tag, self._tag(key, kind, account_id, payload)):
                return payload
        return None
