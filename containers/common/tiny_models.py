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
    """An uncased WordPiece tokenizer (BERT style) trained on `texts`, for the encoder models."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=WORDPIECE_SPECIAL, show_progress=False
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
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
