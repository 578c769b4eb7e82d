"""Fixtures for the encoder tests: tiny transformers models saved to tmp (helpers: encode_support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# --import-mode=importlib puts no test folder on sys.path: make this folder's helper module importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest
from encode_support import WORDS, bytes_to_unicode


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory) -> Path:
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    cfg = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    d = tmp_path_factory.mktemp("vit")
    ViTModel(cfg).save_pretrained(d)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("bert")
    vocab = d / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tok = BertTokenizerFast(vocab_file=str(vocab))
    cfg = BertConfig(
        vocab_size=len(WORDS) + 5, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )  # fmt: skip
    BertModel(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    """A tiny CLIP with a character-level BPE vocabulary (every byte symbol, no merges)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("clip")
    chars = list(bytes_to_unicode().values())
    vocab = {
        t: i for i, t in enumerate([*chars, *(c + "</w>" for c in chars), "<|startoftext|>", "<|endoftext|>"])
    }
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    cfg = CLIPConfig(
        text_config={
            "vocab_size": len(vocab), "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 32, "max_position_embeddings": 77, "projection_dim": 8,
            "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"],
        },
        vision_config={
            "image_size": 32, "patch_size": 8, "hidden_size": 12, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 24, "projection_dim": 8,
        },
        projection_dim=8,
    )  # fmt: skip
    CLIPModel(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def mobilenet(shared: Path) -> Path:
    p = shared / "models" / "coral" / "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
    if not p.is_file():
        pytest.skip(f"{p} absent")
    return p
