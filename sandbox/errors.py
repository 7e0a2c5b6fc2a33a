"""Errors of the sandbox itself (never of the program it runs: those are ExecutionResults)."""

from __future__ import annotations

__all__ = ["SandboxError", "SandboxUnavailable"]


class SandboxError(Exception):
    """Base class of the sandbox's own errors."""


class SandboxUnavailable(SandboxError):
    """The chosen isolation backend cannot run on this host; the message says what to do."""
