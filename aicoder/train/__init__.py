"""LoRA fine-tuning of AICoder (``python -m aicoder.train``) and decontamination.

Heavy libraries (torch, transformers, peft, trl) are imported inside the functions that use them.
"""

from aicoder.train.config import DEFAULT_BASE, TrainConfig
from aicoder.train.decontam import DecontamReport, decontaminate, normalise

__all__ = ["DEFAULT_BASE", "DecontamReport", "TrainConfig", "decontaminate", "normalise"]
