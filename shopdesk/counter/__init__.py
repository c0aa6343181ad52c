"""The counter's core, no Qt: the wiring of client, outbox, download cache, in-flight store and print
pipeline, and the counter's life. The window (ui/service.py) and the headless agent (agent.py) are thin
shells over it."""

from .core import CounterCore, Refusal, explain

__all__ = ["CounterCore", "Refusal", "explain"]
