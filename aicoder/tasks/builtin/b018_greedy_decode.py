# domain: Natural Language Processing

# function_import --------------------

import torch
from transformers import GPT2Config, GPT2LMHeadModel

# function_code --------------------

def greedy_decode(model: GPT2LMHeadModel, input_ids: torch.Tensor, max_new_tokens: int,
                  eos_token_id: int | None = None) -> torch.Tensor:
    """
    Greedy decoding written by hand: repeatedly append the most likely next token.

    Stops after `max_new_tokens` tokens, or right after the model produces `eos_token_id`.

    Args:
        model (GPT2LMHeadModel): a causal language model.
        input_ids (torch.Tensor): (1, prompt_length) token ids.
        max_new_tokens (int): the most tokens to add.
        eos_token_id (int | None): a token that ends the generation (kept in the output).

    Returns:
        torch.Tensor: (1, prompt_length + generated) — the prompt followed by the new tokens.
    """
    ids = input_ids
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = model(input_ids=ids).logits[:, -1, :]
            next_id = logits.argmax(dim=-1, keepdim=True)
            ids = torch.cat([ids, next_id], dim=-1)
            if eos_token_id is not None and next_id.item() == eos_token_id:
                break
    return ids

# test_function_code --------------------

def test_greedy_decode():
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50, n_positions=64, n_embd=32, n_layer=2, n_head=2)
    model = GPT2LMHeadModel(config).eval()
    prompt = torch.tensor([[5, 7, 9]])

    out = greedy_decode(model, prompt, max_new_tokens=6)
    assert out.shape == (1, 9)
    assert torch.equal(out[:, :3], prompt)
    expected = model.generate(prompt, max_new_tokens=6, do_sample=False, pad_token_id=0)
    assert torch.equal(out, expected)
    eos = out[0, 4].item()
    stopped = greedy_decode(model, prompt, max_new_tokens=6, eos_token_id=eos)
    assert stopped[0, -1].item() == eos and stopped.shape[1] <= 5
    return 'All Tests Passed'

# call_test_function_code --------------------

test_greedy_decode()
