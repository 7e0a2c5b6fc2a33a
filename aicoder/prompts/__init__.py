"""Prompt templates (text files in ``templates/``), failure descriptions, code extraction."""

from aicoder.prompts.extract import extract_code
from aicoder.prompts.render import describe_failure, render, trim_middle

__all__ = ["describe_failure", "extract_code", "render", "trim_middle"]
