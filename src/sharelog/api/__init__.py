"""The HTTP layer: routes parse, call the store, respond."""

from sharelog.api.app import create_app

__all__ = ["create_app"]
