"""Isolation backends. Each is imported only when chosen."""
