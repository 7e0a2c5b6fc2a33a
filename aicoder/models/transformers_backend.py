"""``transformers:<hub id | local folder>[+<adapter id | folder>]`` — a model in this process.

GPU in bf16 when there is one, else CPU in fp32; the tokenizer's chat template; a PEFT LoRA
adapter on top when given (AICoder without a server); token streaming from a generation thread;
stop strings; cancel mid-way.
"""

from __future__ import annotations

import threading
from collections.abc import Generator

from aicoder.models.base import (
    ChatModel,
    Completion,
    GenerationParams,
    Message,
    ModelError,
    ModelUnavailable,
    TextAccumulator,
)

__all__ = ["TransformersModel"]


class TransformersModel(ChatModel):
    concurrency = 1

    def __init__(self, model: str, adapter: str | None = None, *, device: str | None = None
                 ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.spec = f"transformers:{model}" + (f"+{adapter}" if adapter else "")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(adapter or model)
        except (OSError, ValueError):
            try:
                self.tokenizer = AutoTokenizer.from_pretrained(model)
            except (OSError, ValueError) as exc:
                raise ModelUnavailable(f"cannot load the tokenizer of {model}: {exc}") from exc
        try:
            self.model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"cannot load the model {model}: {exc}") from exc
        if adapter:
            try:
                from peft import PeftModel
            except ImportError as exc:  # pragma: no cover - peft is in requirements.txt
                raise ModelUnavailable("an adapter needs peft: pip install peft") from exc
            try:
                self.model = PeftModel.from_pretrained(self.model, adapter)
            except (OSError, ValueError) as exc:
                raise ModelUnavailable(f"cannot load the adapter {adapter}: {exc}") from exc
        self.model.to(self.device).eval()
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelUnavailable(f"{model} has no chat template: use an instruct model")
        self._lock = threading.Lock()  # one generation at a time on one model

    def _prompt_ids(self, messages: list[Message]):
        encoded = self.tokenizer.apply_chat_template(
            [m.model_dump() for m in messages], add_generation_prompt=True,
            return_tensors="pt", return_dict=True)
        return {k: v.to(self.device) for k, v in encoded.items()}

    def stream(self, messages: list[Message], params: GenerationParams | None = None,
               cancel: threading.Event | None = None) -> Generator[str, None, Completion]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        params = params or GenerationParams()
        cancel = cancel or threading.Event()
        inputs = self._prompt_ids(messages)
        prompt_len = inputs["input_ids"].shape[-1]
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True,
                                        skip_special_tokens=True, timeout=600)
        stop_flag = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return cancel.is_set() or stop_flag.is_set()

        kwargs = dict(inputs, max_new_tokens=params.max_new_tokens, streamer=streamer,
                      stopping_criteria=StoppingCriteriaList([_Stop()]),
                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        if params.greedy:
            kwargs["do_sample"] = False
        else:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        output: dict = {}

        def work() -> None:
            try:
                with self._lock, torch.inference_mode():
                    if params.seed is not None:
                        torch.manual_seed(params.seed)
                    output["ids"] = self.model.generate(**kwargs)
            except Exception as exc:
                output["error"] = exc
                streamer.end()

        acc = TextAccumulator(params.stop)
        thread = threading.Thread(target=work, daemon=True, name="transformers-generate")
        thread.start()
        try:
            finish = yield from acc.relay(((delta, None) for delta in streamer), cancel)
        finally:
            # A consumer that stops iterating (GeneratorExit) stops the generation too.
            stop_flag.set()
            thread.join()
        if "error" in output:
            raise ModelError(f"generation failed: {output['error']}") from output["error"]
        ids = output.get("ids")
        generated = int(ids.shape[-1] - prompt_len) if ids is not None else 0
        if cancel.is_set():
            finish = "cancelled"
        elif finish == "length" and ids is not None and generated < params.max_new_tokens:
            finish = "stop"  # ended on EOS
        return acc.completion(prompt_len, generated, finish)
