"""Deleting what was recorded: one session, an agent's (erasure), and retention sweeps.

Each deletion is listed in the change feed (a tombstone at a new position) and
sent as a ``session.deleted`` webhook, recorded in the same transaction.
Large deletions go in batches of ``DELETE_BATCH`` sessions, one transaction
each under the account's write lock, so ingestion waits for one batch at most.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sharelog.store import audit
from sharelog.store import deletions as deletion_store
from sharelog.store.database import Database
from sharelog.timestamps import US_PER_SECOND, now_us
from sharelog.webhooks import record_messages
from sharelog.webhooks.wakeup import wakeup

log = logging.getLogger("sharelog.retention")

US_PER_DAY = 86_400 * US_PER_SECOND


@dataclass(frozen=True, slots=True)
class SweepResult:
    sessions_deleted: int
    tombstones_pruned: int


def _wake(queued: int) -> None:
    """Wake this process's webhook sender for messages just committed."""
    if queued:
        wakeup.wake()


class Remover:
    def __init__(self, db: Database) -> None:
        self.db = db

    def delete_session(self, account_id: int, session_id: str) -> bool:
        """Delete one session in usage; False when the account has none such."""
        with self.db.writing(account_id) as conn:
            moment = now_us()
            changes = deletion_store.delete_session(conn, account_id, session_id, moment)
            queued = record_messages(conn, account_id, changes, moment)
        _wake(queued)
        return bool(changes)

    def erase_agent(self, account_id: int, email: str, actor: str) -> int:
        """Delete every session the agent presented; how many went. The sessions are all
        the database knows of an agent (its email and name live on them), so
        nothing of it is left but the audit entry that names the erasure."""
        deleted = 0
        while True:
            with self.db.writing(account_id) as conn:
                moment = now_us()
                changes = deletion_store.delete_agent_batch(conn, account_id, email, moment)
                queued = record_messages(conn, account_id, changes, moment)
                deleted += len(changes)
                done = len(changes) < deletion_store.DELETE_BATCH
                if done:
                    audit.record(conn, account_id, actor, "agent.erased", email, moment)
            _wake(queued)
            if done:
                return deleted

    def sweep(self, tombstone_days: int, at_us: int | None = None) -> SweepResult:
        """Delete every account's sessions past its retention, and prune old tombstones."""
        moment = now_us() if at_us is None else at_us
        with self.db.reading(primary=True) as conn:
            retained = deletion_store.retention_days(conn)
        deleted = 0
        for account_id, days in retained.items():
            cutoff = moment - days * US_PER_DAY
            while True:
                with self.db.writing(account_id) as conn:
                    at = now_us()
                    changes = deletion_store.expire_batch(conn, account_id, cutoff, at)
                    queued = record_messages(conn, account_id, changes, at)
                _wake(queued)
                deleted += len(changes)
                if len(changes) < deletion_store.DELETE_BATCH:
                    break
        horizon = moment - tombstone_days * US_PER_DAY
        with self.db.reading(primary=True) as conn:
            marked = deletion_store.accounts_with_tombstones(conn, horizon)
        pruned = 0
        for account_id in marked:
            while True:
                with self.db.writing(account_id) as conn:
                    count = deletion_store.prune_tombstones_batch(conn, account_id, horizon)
                pruned += count
                if count < deletion_store.DELETE_BATCH:
                    break
        if deleted or pruned:
            log.info("retention sweep: %d sessions deleted, %d tombstones pruned", deleted, pruned)
        return SweepResult(deleted, pruned)
