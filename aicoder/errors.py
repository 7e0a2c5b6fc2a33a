"""The product's error hierarchy: one clear message per mistake a user can make.

The command-line edges print ``error: <message>`` and exit 2; nothing else catches these.
"""

from __future__ import annotations

__all__ = ["AICoderError", "TaskFormatError", "TaskSourceError"]


class AICoderError(Exception):
    """Base class of every error a user can cause or fix."""


class TaskFormatError(AICoderError):
    """A task record is malformed; the message names the file, the line and the fields."""


class TaskSourceError(AICoderError):
    """A task source cannot be read (a missing file, an unknown spec, the Hub unreachable)."""
