"""Printers and the print path (no Qt): CUPS and hot-folder backends, job settings → IPP options,
printer capabilities and health in words, routing, the pipeline and the headless agent."""
