"""The ``sharelog`` command line."""
