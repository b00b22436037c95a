"""Tiny models built from config, for offline runs and tests: model references `tiny:<kind>`.

A reference such as `tiny:qwen2` builds a small random-initialised model of that architecture and a
tokenizer trained in a fraction of a second on the run's own texts; after that, the code path is the
one used for a Hub id. Builders for each kind live beside the scripts that use them; this module holds
the shared part: parsing the reference and training the tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterable

TINY_PREFIX = "tiny:"
SPECIAL_TOKENS = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "<s>", "</s>"]
WORDPIECE_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def is_tiny(model_ref: str) -> bool:
    return model_ref.startswith(TINY_PREFIX)


def tiny_kind(model_ref: str, allowed: Iterable[str]) -> str:
    """'tiny:qwen2' -> 'qwen2', checked against what the caller can build."""
    if not is_tiny(model_ref):
        raise ValueError(f"{model_ref!r} is not a tiny model reference (tiny:<kind>)")
    kind = model_ref[len(TINY_PREFIX) :]
    options = sorted(allowed)
    if kind not in options:
        raise ValueError(f"unknown tiny model {model_ref!r}; this script builds: {', '.join(options)}")
    return kind


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 512, special_tokens: list[str] | None = None):
    """A byte-level BPE tokenizer (PreTrainedTokenizerFast) trained on `texts` (~0.1 s for a corpus)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = special_tokens or SPECIAL_TOKENS
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )


def train_wordpiece_tokenizer(texts: Iterable[str], vocab_size: int = 1000):
    """An uncased WordPiece tokenizer (BERT style) whose vocabulary comes from `texts`, deterministically.

    The vocabulary is every character (alone and as a `##` continuation) plus the most frequent words
    (ties broken alphabetically). `tokenizers`' WordPieceTrainer breaks ties differently from run to run,
    which would make a seeded classifier unreproducible.
    """
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    characters = sorted({char for word in words for char in word})
    pieces = [*WORDPIECE_SPECIAL, *characters, *(f"##{char}" for char in characters)]
    room = max(vocab_size - len(pieces), 0)
    frequent = [
        word for word, _ in sorted(words.items(), key=lambda item: (-item[1], item[0])) if len(word) > 1
    ]
    pieces += frequent[:room]
    tokenizer = Tokenizer(
        models.WordPiece(vocab={piece: i for i, piece in enumerate(pieces)}, unk_token="[UNK]")
    )
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


# ChatML with `{% generation %}` markers around what the assistant says, so that
# `apply_chat_template(..., return_assistant_tokens_mask=True)` marks the tokens the loss is taken on.
# Tiny models save this template with their tokenizer; serving applies the very same one.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TINY_END_OF_TURN = "<|im_end|>"
TINY_CAUSAL_KINDS = ("qwen2", "llama")


def build_tiny_chat_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """A BPE tokenizer for the tiny causal LMs, with the ChatML template above attached."""
    tokenizer = train_bpe_tokenizer(texts, vocab_size=vocab_size)
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    tokenizer.padding_side = "right"
    return tokenizer


def build_tiny_causal_lm(kind: str, tokenizer, max_positions: int = 512, seed: int = 0):
    """A ~120k-parameter Qwen2 or Llama (hidden 64, 2 layers, 4 heads, 2 KV heads) for a tokenizer.

    Generation stops at the end-of-turn token as well as at the tokenizer's EOS, as the Hub
    instruct models do.
    """
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    if kind not in TINY_CAUSAL_KINDS:
        raise ValueError(f"unknown tiny causal LM {kind!r}; choose one of {', '.join(TINY_CAUSAL_KINDS)}")
    config_class = Qwen2Config if kind == "qwen2" else LlamaConfig
    end_of_turn = tokenizer.convert_tokens_to_ids(TINY_END_OF_TURN)
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[end_of_turn, tokenizer.eos_token_id],
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    model.generation_config.eos_token_id = [end_of_turn, tokenizer.eos_token_id]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def build_tiny_distilbert(tokenizer, label2id: dict[str, int], max_positions: int = 512, seed: int = 0):
    """A small DistilBERT sequence classifier (dim 64, 2 layers, 4 heads) for `tokenizer`."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=64,
        hidden_dim=128,
        n_layers=2,
        n_heads=4,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=len(label2id),
        label2id=dict(label2id),
        id2label={index: label for label, index in label2id.items()},
    )
    torch.manual_seed(seed)
    return DistilBertForSequenceClassification(config)
