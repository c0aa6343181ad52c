"""Server services: keyword-only functions that do one unit of work inside a given session."""
