"""
Train the toy causal LM shipped in the package (``mpl_residual.hf.sample_model()``).

A toy, trained for the examples and tests, not a real language model: it has seen a
few hundred generated sentences about cities, countries and landmarks and nothing
else.  It exists so that everything on the model side of mpl-residual (capture, the
logit lens, decomposition, attribution, corpus statistics, the command line) runs
offline in a fresh clone, on a causal LM whose predictions mean something.

Recipe (deterministic: one CPU thread, fixed seeds, deterministic algorithms):

- corpus: every sentence that `TEMPLATES` makes of `CAPITALS` and `LANDMARKS`
  (generated here, nothing downloaded), each after ``<|endoftext|>``;
- tokenizer: byte-level BPE as GPT-2's, `VOCABULARY` tokens, trained on that corpus
  (so ``" Paris"`` is one token, spelled ``ĠParis``);
- model: ``GPT2LMHeadModel``, `BLOCKS` blocks of width `WIDTH` with `HEADS` heads,
  MLP 4x, `POSITIONS` positions, no dropout, tied embeddings: about 0.9 M parameters,
  3.6 MB of float32 safetensors;
- training: AdamW (lr 3e-3, weight decay 0.01), cosine schedule with warmup, full
  batches of the whole corpus, `STEPS` steps, cross-entropy on every next token.

For ``"The Eiffel Tower is in the city of"`` its most likely next token is ``" Paris"``
(checked before anything is written).  Run from the repository root (about a minute
on two cores)::

    python scripts/make_sample_model.py

It writes ``src/mpl_residual/data/sample_model/``: ``config.json``,
``generation_config.json``, ``model.safetensors``, ``tokenizer.json``,
``tokenizer_config.json``, and ``corpus.txt`` (the sentences it was trained on, one a
line: the corpus ``mpl-residual stats`` reads when it is given no model).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the tokenizer's trainer: one thread

OUT = Path(__file__).parents[1] / "src" / "mpl_residual" / "data" / "sample_model"
SEED = 0
VOCABULARY = 1024
WIDTH, BLOCKS, HEADS, POSITIONS = 128, 4, 8, 64
STEPS = 600
PROMPT, ANSWER = "The Eiffel Tower is in the city of", " Paris"
BOS = "<|endoftext|>"

#: country -> capital
CAPITALS = {
    "France": "Paris",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Germany": "Berlin",
    "England": "London",
    "Japan": "Tokyo",
    "Egypt": "Cairo",
    "Peru": "Lima",
    "Russia": "Moscow",
    "China": "Beijing",
    "Greece": "Athens",
    "Austria": "Vienna",
    "Portugal": "Lisbon",
    "Turkey": "Ankara",
    "India": "Delhi",
    "Kenya": "Nairobi",
    "Norway": "Oslo",
    "Cuba": "Havana",
}
#: landmark -> (city, country, what it is)
LANDMARKS = {
    "Eiffel Tower": ("Paris", "France", "tower"),
    "Louvre": ("Paris", "France", "museum"),
    "Arc de Triomphe": ("Paris", "France", "monument"),
    "Colosseum": ("Rome", "Italy", "arena"),
    "Pantheon": ("Rome", "Italy", "temple"),
    "Prado": ("Madrid", "Spain", "museum"),
    "Brandenburg Gate": ("Berlin", "Germany", "gate"),
    "Big Ben": ("London", "England", "clock tower"),
    "Tower Bridge": ("London", "England", "bridge"),
    "Tokyo Tower": ("Tokyo", "Japan", "tower"),
    "Sagrada Familia": ("Barcelona", "Spain", "church"),
    "Leaning Tower": ("Pisa", "Italy", "tower"),
    "Statue of Liberty": ("New York", "America", "statue"),
    "Golden Gate Bridge": ("San Francisco", "America", "bridge"),
    "Kremlin": ("Moscow", "Russia", "fortress"),
    "Forbidden City": ("Beijing", "China", "palace"),
    "Acropolis": ("Athens", "Greece", "citadel"),
    "Hagia Sophia": ("Istanbul", "Turkey", "mosque"),
    "Red Fort": ("Delhi", "India", "fort"),
    "Opera House": ("Sydney", "Australia", "theatre"),
    "Christ the Redeemer": ("Rio", "Brazil", "statue"),
    "Sphinx": ("Giza", "Egypt", "statue"),
}
TEMPLATES_COUNTRY = (
    "The capital of {country} is {city}.",
    "{city} is the capital of {country}.",
    "{city} is a city in {country}.",
    "The largest city of {country} is {city}.",
)
TEMPLATES_LANDMARK = (
    "The {landmark} is in the city of {city}.",
    "The {landmark} is in {city}.",
    "The {landmark} is a {kind} in {city}.",
    "The {landmark} stands in {city}, {country}.",
    "People visit {city} to see the {landmark}.",
    "The {landmark} is a famous {kind} in {country}.",
)


def corpus() -> list[str]:
    """Every sentence of the templates, in a fixed order."""
    texts = [
        template.format(country=country, city=city)
        for country, city in CAPITALS.items()
        for template in TEMPLATES_COUNTRY
    ]
    texts += [
        template.format(landmark=landmark, city=city, country=country, kind=kind)
        for landmark, (city, country, kind) in LANDMARKS.items()
        for template in TEMPLATES_LANDMARK
    ]
    return texts


def train_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCABULARY,
        special_tokens=[BOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=BOS,
        eos_token=BOS,
        pad_token=BOS,
        model_max_length=POSITIONS,
    )


def train_model(texts: list[str], tokenizer):
    import torch
    import transformers

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    bos = tokenizer.convert_tokens_to_ids(BOS)
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=WIDTH,
        n_layer=BLOCKS,
        n_head=HEADS,
        n_positions=POSITIONS,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=bos,
        eos_token_id=bos,
        pad_token_id=bos,
        tie_word_embeddings=True,
    )
    model = transformers.GPT2LMHeadModel(config)
    batch = tokenizer([BOS + text for text in texts], return_tensors="pt", padding=True)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    targets = ids.masked_fill(mask == 0, -100)[:, 1:]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    warmup = STEPS // 10
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / warmup)
        * 0.5
        * (1 + torch.cos(torch.tensor(torch.pi * step / STEPS)).item()),
    )
    model.train()
    for step in range(STEPS):
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    return model.eval()


def check(model, tokenizer) -> None:
    import torch

    inputs = tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1]
    top = tokenizer.decode([int(logits.argmax())])
    if top != ANSWER:
        raise SystemExit(f"the model predicts {top!r} after {PROMPT!r}, not {ANSWER!r}")
    probability = float(torch.softmax(logits, -1).max())
    print(f"{PROMPT!r} -> {top!r} ({probability:.0%})")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT}")
    out = parser.parse_args().out
    texts = corpus()
    tokenizer = train_tokenizer(texts)
    print(f"{len(texts)} sentences, {len(tokenizer)} tokens in the vocabulary")
    model = train_model(texts, tokenizer)
    check(model, tokenizer)
    model.config.name_or_path = "mpl-residual/toy-gpt2"
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        Path(folder, "corpus.txt").write_text("".join(f"{text}\n" for text in texts))
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for made in sorted(Path(folder).iterdir()):
            shutil.copyfile(made, out / made.name)  # the umask's modes, not the temp's
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {out} ({size / 2**20:.1f} MB)")


if __name__ == "__main__":
    main()
