"""The sync API: the shop's queue server (FastAPI + SQLAlchemy), embedded in the app or run standalone."""
