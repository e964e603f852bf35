"""Storage: SQLModel tables and the session. SQLite at db/lab.sqlite by default; any SQLAlchemy URL via LAB_DB_URL."""
