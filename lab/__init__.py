"""Model Lab core: audio, catalog, engines, loading, metrics, runner and storage. No UI here."""

__version__ = "0.1.0"
