"""sharelog: self-hosted usage history for screen-sharing and meeting products."""

__version__ = "0.1.0"
