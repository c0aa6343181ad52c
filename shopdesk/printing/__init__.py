"""Printers and the print path (no Qt): the Backend protocol (backend.py), CUPS (cups.py, with its
job-events subscription), the hot folder (hotfolder.py), the printer set (printers.py), IPP states and
the pipeline's stages as enums, job settings → IPP options, capabilities and health in words, routing and
the pipeline. The counter's wiring and the headless agent live in shopdesk/counter/ and shopdesk/agent.py."""
