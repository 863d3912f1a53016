"""transformers/tokenizers/: a WordPiece and a byte-level BPE tokenizer and their encodings.

Both are trained here with Hugging Face `tokenizers` on the SpamAssassin mails
(../shared/data/text/spam_assassin.csv.gz: subject and body of 6,046 messages):
`wordpiece.json` (BERT normalizer with lowercasing, BERT pre-tokenizer, [CLS] A [SEP] and
[CLS] A [SEP] B [SEP] templates, 1,300 tokens) and `bytelevel_bpe.json` (GPT-2 style byte
level, 600 tokens, <|endoftext|>). `encodings.json` holds, for 20 tricky strings (accents,
CJK, emoji, control characters, empty) and 150 mails drawn with a fixed seed (subject and
body, first 300 characters): ids, character offsets, type ids and special-token masks under
both tokenizers, the byte-level decode, and 20 WordPiece sentence pairs.
"""

import csv
import gzip
import random

import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers import trainers

from common import SEED, out_path, shared_file, write

TRICKY = [
    "Hello, World!", "  leading and trailing spaces  ", "Café naïve résumé", "東京は日本の首都です",
    "emoji 😀👍🏽 text", "tab\tand\nnewline", "UPPER lower MiXeD", "a" * 120,
    "unbelievable-antidisestablishment", "price: $1,299.99 (approx.)",
    "e-mail: someone@example.org", "\x00control\x07chars", "", " ", "don't won't can't",
    "ß ﬁ Å", "Ｆｕｌｌｗｉｄｔｈ", "multiple     spaces", "x\u00a0y", "\ufdfa arabic ligature",
]

csv.field_size_limit(1 << 24)
with gzip.open(shared_file("data/text/spam_assassin.csv.gz"), "rt", encoding="utf-8") as f:
    mails = [f"{row['subject']} {row['body']}".strip() for row in csv.DictReader(f)]

wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
wordpiece.decoder = decoders.WordPiece(prefix="##")
wordpiece.train_from_iterator(mails, trainers.WordPieceTrainer(
    vocab_size=1300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
cls, sep = wordpiece.token_to_id("[CLS]"), wordpiece.token_to_id("[SEP]")
wordpiece.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
    special_tokens=[("[CLS]", cls), ("[SEP]", sep)])

bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train_from_iterator(mails, trainers.BpeTrainer(
    vocab_size=600, special_tokens=["<|endoftext|>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))

wordpiece.save(out_path("transformers/tokenizers/wordpiece.json"))
bpe.save(out_path("transformers/tokenizers/bytelevel_bpe.json"))

rng = random.Random(SEED)
sample = [m[:300] for m in rng.sample(mails, 150)]
pairs = [(a[:80], b[:80]) for a, b in zip(rng.sample(mails, 20), rng.sample(mails, 20))]


def encoding(enc, text, pair=None):
    out = {"text": text}
    if pair is not None:
        out["pair"] = pair
    out.update({"ids": enc.ids, "offsets": [list(o) for o in enc.offsets],
                "type_ids": enc.type_ids, "special_tokens_mask": enc.special_tokens_mask})
    return out


texts = TRICKY + sample
byte_level = []
for text in texts:
    case = encoding(bpe.encode(text), text)
    case["decoded"] = bpe.decode(case["ids"])
    byte_level.append(case)
write("transformers/tokenizers/encodings.json", {
    "generator": f"tokenizers (Python) {tokenizers.__version__}",
    "wordpiece": [encoding(wordpiece.encode(t), t) for t in texts],
    "wordpiece_pairs": [encoding(wordpiece.encode(a, b), a, b) for a, b in pairs],
    "bytelevel_bpe": byte_level,
}, indent=None)
