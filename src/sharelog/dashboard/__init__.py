"""The usage dashboard: static files served at ``/``, data from the public API only."""
