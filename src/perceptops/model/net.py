"""SafetyNet: small adapters over frozen, cached image/text embeddings, fused, with a 2-class head.

The encoders never run in here: the net sees embedding vectors only, so training costs a few
milliseconds an epoch instead of one encoder forward per item per batch per epoch.
Class 1 is "safe"; the safety score is 10 x P(safe).
"""

from __future__ import annotations

from typing import Any

VARIANTS = ("fusion", "image", "text")
FUSIONS = ("concat", "cross_attention")


def build_net(image_dim: int, text_dim: int, adapter_dim: int, dropout: float, fusion: str, variant: str):
    """Create a SafetyNet (torch imported here, not at module import)."""
    import torch
    from torch import nn

    class Adapter(nn.Module):
        """Linear -> GELU -> Linear -> dropout, plus a residual (projected where dims differ), LayerNorm."""

        def __init__(self, dim: int):
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(dim, adapter_dim),
                nn.GELU(),
                nn.Linear(adapter_dim, adapter_dim),
                nn.Dropout(dropout),
            )
            self.skip = nn.Identity() if dim == adapter_dim else nn.Linear(dim, adapter_dim, bias=False)
            self.norm = nn.LayerNorm(adapter_dim)

        def forward(self, x):
            return self.norm(self.skip(x) + self.body(x))

    class SafetyNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.variant = variant
            self.fusion = fusion
            self.image_adapter = Adapter(image_dim) if variant in ("fusion", "image") else None
            self.text_adapter = Adapter(text_dim) if variant in ("fusion", "text") else None
            self.attn = None
            if variant == "fusion" and fusion == "cross_attention":
                # The two modality tokens attend to each other; with heads dividing adapter_dim.
                heads = 4 if adapter_dim % 4 == 0 else 1
                self.attn = nn.MultiheadAttention(adapter_dim, heads, dropout=dropout, batch_first=True)
                self.attn_norm = nn.LayerNorm(adapter_dim)
            width = adapter_dim * (2 if variant == "fusion" else 1)
            self.head = nn.Linear(width, 2)

        def forward(self, img, txt):
            if self.variant == "image":
                return self.head(self.image_adapter(img))
            if self.variant == "text":
                return self.head(self.text_adapter(txt))
            a, b = self.image_adapter(img), self.text_adapter(txt)
            if self.attn is not None:
                tokens = torch.stack([a, b], dim=1)  # (n, 2, d)
                mixed, _ = self.attn(tokens, tokens, tokens, need_weights=False)
                tokens = self.attn_norm(tokens + mixed)
                a, b = tokens[:, 0], tokens[:, 1]
            return self.head(torch.cat([a, b], dim=1))

        def adapter_parameters(self) -> list[Any]:
            """What a fine-tune updates: adapters, fusion and head (the encoders are not in the net)."""
            return [p for p in self.parameters() if p.requires_grad]

    return SafetyNet()


def net_config(params_net: Any, image: dict, text: dict) -> dict:
    """The config.json fields that rebuild the same net: net params + encoder ids and dims."""
    return {
        "adapter_dim": int(params_net.adapter_dim),
        "dropout": float(params_net.dropout),
        "fusion": str(params_net.fusion),
        "variant": str(params_net.variant),
        "encoders": {
            "image": {"id": str(image["id"]), "dim": int(image["dim"])},
            "text": {"id": str(text["id"]), "dim": int(text["dim"])},
        },
    }


def build_from_config(config: dict):
    enc = config["encoders"]
    return build_net(
        image_dim=int(enc["image"]["dim"]),
        text_dim=int(enc["text"]["dim"]),
        adapter_dim=int(config["adapter_dim"]),
        dropout=float(config["dropout"]),
        fusion=str(config["fusion"]),
        variant=str(config["variant"]),
    )
