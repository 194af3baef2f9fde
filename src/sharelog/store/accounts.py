"""Accounts and their API keys. Keys are kept only as SHA-256 hashes.

A key is ``slk_`` and 32 base62 characters (about 190 bits), so a fast hash is
enough: there is nothing to brute-force. The first 12 characters are the
display prefix, the only part kept in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from typing import Any

from sqlalchemy import Connection, select, update

from sharelog.domain import Account, KeyInfo, Principal, Scope
from sharelog.store.driver import fetch
from sharelog.store.schema import accounts, api_keys
from sharelog.store.usage_sql import dialect_of

KEY_PREFIX = "slk_"
DISPLAY_PREFIX_LENGTH = 12
_ALPHABET = string.ascii_letters + string.digits


class AccountNotFound(LookupError):
    """No account has that name or id."""


class KeyNotFound(LookupError):
    """No key has that value or display prefix."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def create_account(
    conn: Connection, name: str, now_us: int, retention_days: int | None = None
) -> Account:
    new_id = conn.execute(
        accounts.insert()
        .values(name=name, created_us=now_us, retention_days=retention_days)
        .returning(accounts.c.id)
    ).scalar_one()
    return Account(id=int(new_id), name=name)


def find_account(conn: Connection, name_or_id: str) -> Account:
    """The account with that name, else with that numeric id."""
    row = conn.execute(
        select(accounts.c.id, accounts.c.name).where(accounts.c.name == name_or_id)
    ).first()
    if row is None and name_or_id.isdigit():
        row = conn.execute(
            select(accounts.c.id, accounts.c.name).where(accounts.c.id == int(name_or_id))
        ).first()
    if row is None:
        raise AccountNotFound(name_or_id)
    return Account(id=int(row.id), name=row.name)


def create_key(conn: Connection, account_id: int, scope: Scope, now_us: int) -> str:
    """Store a new key's hash and return the key itself: the only time it is seen."""
    key = new_key()
    conn.execute(
        api_keys.insert().values(
            account_id=account_id,
            prefix=key[:DISPLAY_PREFIX_LENGTH],
            key_hash=hash_key(key),
            scope=scope.value,
            created_us=now_us,
        )
    )
    return key


def authenticate(conn: Connection, key: str) -> Principal | None:
    """The principal of a live key, or None for an unknown or revoked one."""
    digest = hash_key(key)
    # On the driver's cursor (store/driver.py): every request asks, and as a
    # Core statement this was a quarter of a key check's time.
    m = dialect_of(conn).mark
    rows = fetch(
        conn,
        "SELECT account_id, scope, prefix, key_hash, last_used_us FROM api_keys "
        f"WHERE key_hash = {m} AND revoked_us IS NULL",
        (digest,),
    )
    # The index found the row; compare in constant time all the same.
    if not rows or not hmac.compare_digest(rows[0][3], digest):
        return None
    account_id, scope, prefix, _, last_used_us = rows[0]
    return Principal(
        account_id=int(account_id),
        scope=Scope(scope),
        key_prefix=prefix,
        last_used_us=last_used_us,
    )


def touch_key(conn: Connection, account_id: int, prefix: str, minute_us: int) -> None:
    """Record a use in ``minute_us``: a no-op when that minute is recorded already."""
    conn.execute(
        update(api_keys)
        .where(api_keys.c.account_id == account_id, api_keys.c.prefix == prefix)
        .where((api_keys.c.last_used_us.is_(None)) | (api_keys.c.last_used_us < minute_us))
        .values(last_used_us=minute_us)
    )


def account_keys(conn: Connection, account_id: int) -> list[Any]:
    """The account's keys, oldest first: prefix, scope, created, revoked and last use."""
    return list(
        conn.execute(
            select(
                api_keys.c.prefix,
                api_keys.c.scope,
                api_keys.c.created_us,
                api_keys.c.revoked_us,
                api_keys.c.last_used_us,
            )
            .where(api_keys.c.account_id == account_id)
            .order_by(api_keys.c.created_us, api_keys.c.prefix)
        )
    )


def revoke_account_key(conn: Connection, account_id: int, prefix: str, now_us: int) -> bool | None:
    """Revoke one of the account's keys by prefix: True when revoked now, False when it was
    already, None when the account has no such key."""
    row = conn.execute(
        select(api_keys.c.revoked_us).where(
            api_keys.c.account_id == account_id, api_keys.c.prefix == prefix
        )
    ).first()
    if row is None:
        return None
    if row.revoked_us is not None:
        return False
    conn.execute(
        update(api_keys)
        .where(api_keys.c.account_id == account_id, api_keys.c.prefix == prefix)
        .values(revoked_us=now_us)
    )
    return True


def list_keys(conn: Connection, account_id: int | None = None) -> list[KeyInfo]:
    query = (
        select(api_keys, accounts.c.name.label("account_name"))
        .join(accounts, accounts.c.id == api_keys.c.account_id)
        .order_by(api_keys.c.account_id, api_keys.c.created_us, api_keys.c.prefix)
    )
    if account_id is not None:
        query = query.where(api_keys.c.account_id == account_id)
    return [
        KeyInfo(
            prefix=row.prefix,
            scope=Scope(row.scope),
            account_id=int(row.account_id),
            account_name=row.account_name,
            created_us=int(row.created_us),
            revoked_us=None if row.revoked_us is None else int(row.revoked_us),
        )
        for row in conn.execute(query)
    ]


def find_keys(conn: Connection, key_or_prefix: str) -> list[tuple[int, str]]:
    """``(account_id, prefix)`` of the keys named whole or by display prefix."""
    if len(key_or_prefix) > DISPLAY_PREFIX_LENGTH:
        condition = api_keys.c.key_hash == hash_key(key_or_prefix)
    else:
        condition = api_keys.c.prefix == key_or_prefix
    rows = conn.execute(select(api_keys.c.account_id, api_keys.c.prefix).where(condition)).all()
    return [(int(r.account_id), r.prefix) for r in rows]


def revoke_key(conn: Connection, key_or_prefix: str, now_us: int) -> KeyInfo:
    """Revoke a key named whole or by its display prefix; revoking twice keeps the first time."""
    if len(key_or_prefix) > DISPLAY_PREFIX_LENGTH:
        condition = api_keys.c.key_hash == hash_key(key_or_prefix)
    else:
        condition = api_keys.c.prefix == key_or_prefix
    rows = conn.execute(select(api_keys.c.account_id, api_keys.c.prefix).where(condition)).all()
    if len(rows) != 1:
        raise KeyNotFound(key_or_prefix)
    account_id, prefix = int(rows[0].account_id), rows[0].prefix
    conn.execute(
        update(api_keys)
        .where(api_keys.c.account_id == account_id, api_keys.c.prefix == prefix)
        .where(api_keys.c.revoked_us.is_(None))
        .values(revoked_us=now_us)
    )
    return next(k for k in list_keys(conn, account_id) if k.prefix == prefix)


def account_info(conn: Connection, account_id: int) -> dict[str, object]:
    """``id``, ``name``, ``created_us``, ``retention_days`` of an account."""
    row = conn.execute(
        select(
            accounts.c.id, accounts.c.name, accounts.c.created_us, accounts.c.retention_days
        ).where(accounts.c.id == account_id)
    ).one()
    return {
        "id": int(row.id),
        "name": row.name,
        "created_us": int(row.created_us),
        "retention_days": None if row.retention_days is None else int(row.retention_days),
    }


def set_retention(conn: Connection, account_id: int, days: int | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(retention_days=days))
