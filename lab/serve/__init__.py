"""Serving the core: the `lab` CLI, the HTTP API and the HTML reports."""
