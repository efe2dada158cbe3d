"""A tiny GPT-2 that knows eight capitals, trained in seconds: a causal LM for the
gallery, which builds offline (no Hub, so no GPT-2 to download)."""

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers

CAPITALS = {
    "france": "paris",
    "italy": "rome",
    "spain": "madrid",
    "germany": "berlin",
    "england": "london",
    "japan": "tokyo",
    "egypt": "cairo",
    "peru": "lima",
}


def capitals_lm(steps: int = 300, seed: int = 0):
    """``(model, tokenizer)``: 6 blocks, d_model 64, a word-level vocabulary."""
    texts = [f"the capital of {c} is {p} ." for c, p in CAPITALS.items()]
    texts += [f"{p} is the capital of {c} ." for c, p in CAPITALS.items()]
    words = sorted({w for text in texts for w in text.split()})
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "<|endoftext|>", *words])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, unk_token="<unk>", pad_token="<pad>", eos_token="<|endoftext|>"
    )
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        vocab_size=len(vocab),
        n_embd=64,
        n_layer=6,
        n_head=4,
        n_positions=16,
        bos_token_id=2,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = transformers.GPT2LMHeadModel(config)
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    targets = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)[:, 1:]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        logits = model(**batch).logits[:, :-1]  # each position predicts the next token
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), tokenizer
