"""One small module per page: what that page shows, shaped for display (pure, typed, tested directly)."""
