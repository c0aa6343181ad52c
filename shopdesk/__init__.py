"""shopdesk: counter software for a small print shop."""

__version__ = "0.1.0"
