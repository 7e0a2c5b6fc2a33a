"""`TrainConfig`: every knob of a LoRA fine-tuning run, with the paper's recipe as defaults.

One home for the defaults: the command line (`aicoder/train/cli.py`) is built from these
fields, the model card prints them, and a resumed run compares them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

__all__ = ["DEFAULT_BASE", "DEFAULT_TARGET_MODULES", "RESUME_KEYS", "TrainConfig"]

DEFAULT_BASE = "meta-llama/Meta-Llama-3-8B-Instruct"
# Every linear projection of a Llama block: attention (q, k, v, o) and MLP (gate, up, down).
# The paper names LoRA but not its targets; all seven is the common choice for code SFT
# (QLoRA's finding: adapting every linear layer matters more than the rank).
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                          "down_proj")


@dataclass
class TrainConfig:
    """A fine-tuning run. Defaults: the paper's recipe (r 8, alpha 32, lr 1e-4, batch 4, 3 epochs)."""

    output: str = field(metadata={"help": "the adapter folder; checkpoints and logs go inside"})
    data: str = field(default="hub:vixuowis/AICoderEval:train",
                      metadata={"help": "training records: hub:OWNER/NAME:train or a .jsonl"})
    test_data: str = field(default="hub:vixuowis/AICoderEval",
                           metadata={"help": "the split to decontaminate against"})
    base: str = field(default=DEFAULT_BASE,
                      metadata={"help": "base model: a Hub id or a local folder"})
    decontaminate: bool = field(default=True, metadata={
        "help": "drop training records that duplicate or nearly duplicate a test task"})
    ngram: int = field(default=10, metadata={
        "help": "decontamination n-gram length, in normalised code tokens"})
    threshold: float = field(default=0.5, metadata={
        "help": "near-duplicate when this share of the shorter side's n-grams is shared"})
    val_fraction: float = field(default=0.05, metadata={
        "help": "share of the training records held out for eval loss"})
    limit: int | None = field(default=None, metadata={
        "help": "keep only the first N training records (smoke runs)"})
    max_length: int = field(default=2048, metadata={
        "help": "tokens per example; longer ones are truncated at the end"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA input"})
    target_modules: tuple[str, ...] = field(default=DEFAULT_TARGET_MODULES, metadata={
        "help": "modules that get an adapter"})
    learning_rate: float = field(default=1e-4, metadata={"help": "peak learning rate"})
    batch_size: int = field(default=4, metadata={"help": "examples per device step"})
    grad_accum: int = field(default=1, metadata={
        "help": "steps accumulated per optimizer step (effective batch = batch x accum)"})
    epochs: float = field(default=3.0, metadata={"help": "passes over the training records"})
    max_steps: int | None = field(default=None, metadata={
        "help": "stop after this many optimizer steps (overrides epochs)"})
    warmup_ratio: float = field(default=0.03, metadata={"help": "linear warm-up share"})
    scheduler: str = field(default="cosine", metadata={"help": "learning-rate schedule"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    seed: int = field(default=0, metadata={"help": "seed of the data split, shuffling, init"})
    precision: str = field(default="auto", metadata={
        "help": "auto (bf16 on a GPU that has it, else fp16 on GPU, fp32 on CPU), bf16, fp16, fp32"})
    qlora: bool = field(default=False, metadata={
        "help": "load the base in 4-bit NF4 (bitsandbytes; CUDA GPU only)"})
    gradient_checkpointing: bool = field(default=True, metadata={
        "help": "recompute activations in the backward pass (less memory, ~30%% slower)"})
    save_steps: int = field(default=50, metadata={"help": "checkpoint every N optimizer steps"})
    eval_steps: int = field(default=50, metadata={"help": "eval loss every N optimizer steps"})
    logging_steps: int = field(default=10, metadata={"help": "log the loss every N steps"})

    def recipe(self) -> dict[str, object]:
        """The keys a resumed run must share with the run it resumes (what shapes the weights)."""
        return {k: v for k, v in self.to_dict().items() if k in RESUME_KEYS}

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["target_modules"] = list(self.target_modules)
        return out

    @classmethod
    def field_help(cls) -> dict[str, tuple[object, str]]:
        """name -> (default, help) for every field, for the command line."""
        return {f.name: (f.default, f.metadata.get("help", "")) for f in fields(cls)}


RESUME_KEYS = frozenset({
    "data", "test_data", "base", "decontaminate", "ngram", "threshold", "val_fraction", "limit",
    "max_length", "lora_r", "lora_alpha", "lora_dropout", "target_modules", "learning_rate",
    "batch_size", "grad_accum", "epochs", "max_steps", "warmup_ratio", "scheduler",
    "weight_decay", "seed", "qlora",
})
