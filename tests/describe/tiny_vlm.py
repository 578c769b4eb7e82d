"""Build a tiny LLaVA (CLIP vision + Llama text) with a local word-level tokenizer, saved to a folder.

With ``answer_token`` the LM head is zeroed, so greedy decoding always emits token 0: the JSON answer
(``ANSWER``), which exercises the success path of the real transformers loading + generation code.
"""

from __future__ import annotations

from pathlib import Path

ANSWER = '{"description": "tiny model says the street feels quite safe", "safety": 7, "factors": ["light"]}'
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }}"
    "{% endif %}{% endfor %}{% endif %}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)


def build_tiny_llava(dest: Path, answer_token: bool = True) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    words = [
        "street",
        "safe",
        "unsafe",
        "rate",
        "image",
        "scale",
        "person",
        "walking",
        "crime",
        "traffic",
        "the",
        "a",
        "of",
        "and",
        "to",
        "is",
    ]
    vocab = {ANSWER: 0, "<unk>": 1, "<s>": 2, "</s>": 3, "<pad>": 4, "<image>": 5}
    for w in words:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )
    fast.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_processor = CLIPImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=fast,
        patch_size=14,
        vision_feature_select_strategy="default",
        chat_template=CHAT_TEMPLATE,
        num_additional_image_tokens=1,
        image_token="<image>",
    )
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=28,
            patch_size=14,
        ),
        text_config=LlamaConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            bos_token_id=2,
            eos_token_id=3,
            pad_token_id=4,
        ),
        image_token_index=5,
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg)
    if answer_token:
        with torch.no_grad():
            model.lm_head.weight.zero_()  # all logits equal -> greedy picks token 0, the JSON answer
    model.save_pretrained(dest)
    processor.save_pretrained(dest)
    return dest
