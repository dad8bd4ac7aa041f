"""AttentionLayer["Dot", "ScoreRescaling" -> "DimensionSqrt"] equals PyTorch's
torch.nn.functional.scaled_dot_product_attention (whose default scale is 1/Sqrt[E]), with
"Mask" -> "Causal" as is_causal=True and "MultiHead" -> True as PyTorch's head dimension;
gradients of keys, values and queries equal autograd's. Layouts: Wolfram's example
{L, [H], E} against PyTorch's (N, [H], L, E).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.layer_harness import build, check_gradients, ctx, forward, to_batch_last

torch = pytest.importorskip("torch")
F = torch.nn.functional

N, L, M, E, V, HEADS = 3, 6, 4, 5, 2, 2


def _data(multi: bool, causal: bool, dtype=np.float32):
    rng = np.random.default_rng(0)
    m = L if causal else M
    h = (HEADS,) if multi else ()
    return [rng.standard_normal((N, n) + h + (c,)).astype(dtype)
            for n, c in ((L, E), (L, V), (m, E))]


def _layer(multi: bool, causal: bool):
    m = L if causal else M
    h = f", {HEADS}" if multi else ""
    mask = '"Causal"' if causal else "None"
    return build(f'AttentionLayer["Dot", "ScoreRescaling" -> "DimensionSqrt", "Mask" -> {mask}, '
                 f'"MultiHead" -> {multi}, "Key" -> {{{L}{h}, {E}}}, '
                 f'"Value" -> {{{L}{h}, {V}}}, "Query" -> {{{m}{h}, {E}}}]')


def _torch_layout(x: np.ndarray, multi: bool):
    t = torch.from_numpy(x)
    return t.transpose(1, 2) if multi else t          # (N, L, H, E) -> (N, H, L, E)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_equals_scaled_dot_product_attention(multi, causal):
    layer = _layer(multi, causal)
    keys, values, queries = _data(multi, causal)
    y, = forward(layer, {}, keys, values, queries)
    k, v, q = (_torch_layout(a, multi) for a in (keys, values, queries))
    want = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    if multi:
        want = want.transpose(1, 2)
    np.testing.assert_allclose(y, want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_gradients_equal_autograd(multi, causal):
    layer = _layer(multi, causal)
    keys, values, queries = _data(multi, causal, np.float64)
    xs = [to_batch_last(a) for a in (keys, values, queries)]
    outs, cache = layer.forward(ctx(grad=True), {}, *xs)
    g = np.random.default_rng(1).standard_normal(outs[0].shape)
    dxs, _ = layer.backward(ctx(grad=True), {}, cache, g)
    k, v, q = (_torch_layout(a, multi).clone().requires_grad_(True)
               for a in (keys, values, queries))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    if multi:
        out = out.transpose(1, 2)
    (out * torch.from_numpy(np.moveaxis(g, -1, 0))).sum().backward()
    for mine, t in zip(dxs, (k, v, q)):
        theirs = t.grad.transpose(1, 2) if multi else t.grad
        np.testing.assert_allclose(np.moveaxis(mine, -1, 0), theirs.numpy(), rtol=1e-9,
                                   atol=1e-11)


def test_small_case_also_passes_finite_differences():
    layer = _layer(True, True)
    xs = [to_batch_last(a[:1]) for a in _data(True, True, np.float64)]
    check_gradients(layer, {}, xs, tol=1e-6)


def test_local_causal_window_equals_a_boolean_mask():
    """"Mask" -> ("Causal" -> 3): query i sees keys i-2..i, PyTorch's attn_mask (True:
    attend) of that band."""
    layer = build(f'AttentionLayer["Dot", "ScoreRescaling" -> "DimensionSqrt", '
                  f'"Mask" -> ("Causal" -> 3), "Key" -> {{{L}, {E}}}, "Value" -> {{{L}, {V}}}, '
                  f'"Query" -> {{{L}, {E}}}]')
    keys, values, queries = _data(False, True)
    y, = forward(layer, {}, keys, values, queries)
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    band = torch.from_numpy((j <= i) & (j > i - 3))
    want = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (queries, keys, values)),
                                          attn_mask=band)
    np.testing.assert_allclose(y, want.numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- netdsl.torch converters
TO_TORCH = [
    ('AttentionLayer["Key" -> {5, 3}, "Value" -> {5, 2}, "Query" -> {4, 6}]',
     {"Key": (5, 3), "Value": (5, 2), "Query": (4, 6)}),
    ('AttentionLayer["Bilinear", "Mask" -> ("Causal" -> 2), "ScoreRescaling" -> "LengthSqrt", '
     '"MultiHead" -> True, "Key" -> {5, 2, 3}, "Value" -> {5, 2, 2}, "Query" -> {5, 2, 4}]',
     {"Key": (5, 2, 3), "Value": (5, 2, 2), "Query": (5, 2, 4)}),
    ('AttentionLayer["Dot", "ScoreRescaling" -> "DimensionSqrt", "Dropout" -> 0, '
     '"Key" -> {2, 3, 3}, "Value" -> {2, 3, 2}, "Query" -> {3}]',
     {"Key": (2, 3, 3), "Value": (2, 3, 2), "Query": (3,)}),
    ('SequenceAttentionLayer["Input" -> {5, 3}, "Query" -> {4, 2}]',
     {"Input": (5, 3), "Query": (4, 2)}),
]


@pytest.mark.parametrize("text,shapes", TO_TORCH)
def test_to_torch_equals_netdsl(text, shapes):
    import netdsl
    from netdsl.torch import to_torch
    net = netdsl.evaluate(f'NetInitialize[NetGraph[<|"att" -> {text}|>, {{}}], '
                          f'RandomSeeding -> 3]')
    rng = np.random.default_rng(0)
    x = {p: rng.standard_normal((4,) + s).astype(np.float32) for p, s in shapes.items()}
    module = to_torch(net)
    for mode in ("Test", "Train"):
        module.train(mode == "Train")
        y = module(**{p: torch.from_numpy(v) for p, v in x.items()}).detach().numpy()
        np.testing.assert_allclose(y, net(x, evaluation_mode=mode), rtol=2e-5, atol=2e-6)
