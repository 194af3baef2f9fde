"""Webhooks out: which messages a change makes (``record_messages``), and the sender."""

from sharelog.webhooks.messages import record_messages

__all__ = ["record_messages"]
