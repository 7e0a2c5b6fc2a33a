"""AICoder Studio: AICoderEval tasks, the CoderGen agent, model backends and the Space's UI.

Heavy libraries (torch, transformers, gradio) are imported where they are used, never here.
"""

from sandbox import astlock as _astlock

_astlock.install()  # threads must not parse at once on CPython < 3.13 (see sandbox/astlock.py)

__version__ = "0.1.0"
