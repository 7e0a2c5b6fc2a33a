"""One line of ``samples.jsonl``: the record type lives with the agents (the Space writes the
same format), and eval uses it from here."""

from aicoder.agents.record import CompatVerdict, SampleRecord, record_from_steps

__all__ = ["CompatVerdict", "SampleRecord", "record_from_steps"]
