"""Stable entry point for `uvicorn lab.api:app`; the API lives in `lab.serve.api`."""

from lab.serve.api import app

__all__ = ["app"]
