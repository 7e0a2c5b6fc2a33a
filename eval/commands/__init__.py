"""One module per subcommand of ``python -m eval``; each exposes ``add_parser``."""
