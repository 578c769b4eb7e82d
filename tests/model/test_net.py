from __future__ import annotations

import pytest
import torch

from perceptops.model.net import build_net


@pytest.mark.parametrize("fusion", ["concat", "cross_attention"])
@pytest.mark.parametrize("variant", ["fusion", "image", "text"])
def test_variants_give_two_logits(fusion, variant):
    torch.manual_seed(0)
    net = build_net(image_dim=10, text_dim=7, adapter_dim=8, dropout=0.1, fusion=fusion, variant=variant)
    out = net(torch.randn(5, 10), torch.randn(5, 7))
    assert out.shape == (5, 2)
    assert (net.image_adapter is None) == (variant == "text")
    assert (net.text_adapter is None) == (variant == "image")
    out.sum().backward()  # trainable end to end


def test_image_variant_ignores_text_and_text_variant_ignores_image():
    torch.manual_seed(0)
    net = build_net(10, 7, 8, 0.0, "concat", "image").eval()
    x = torch.randn(3, 10)
    assert torch.equal(net(x, torch.randn(3, 7)), net(x, torch.randn(3, 7)))
    net = build_net(10, 7, 8, 0.0, "concat", "text").eval()
    t = torch.randn(3, 7)
    assert torch.equal(net(torch.randn(3, 10), t), net(torch.randn(3, 10), t))


def test_residual_projects_only_where_dims_differ():
    net = build_net(8, 12, 8, 0.1, "concat", "fusion")
    assert isinstance(net.image_adapter.skip, torch.nn.Identity)
    assert isinstance(net.text_adapter.skip, torch.nn.Linear)
    assert net.text_adapter.skip.weight.shape == (8, 12)


def test_dropout_active_only_in_train_mode():
    torch.manual_seed(0)
    net = build_net(6, 6, 16, 0.5, "concat", "fusion")
    x, t = torch.randn(4, 6), torch.randn(4, 6)
    net.eval()
    assert torch.equal(net(x, t), net(x, t))
    net.train()
    assert not torch.equal(net(x, t), net(x, t))
