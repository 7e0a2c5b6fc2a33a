"""The headless benchmark: ``python -m eval`` (see ``python -m eval --help``)."""
