"""The encoder's forward pass over a plain BERT, written out over the model's own weights.

Why: the encoder runs each sentence alone (a batch of one, see `Encoder._forward`), so a pass
is small (~20 word pieces) and the Python around the kernels was a third of its cost:
transformers' BertModel makes ~120 module calls per sentence, through deprecation and
output-capturing wrappers, a signature inspection per layer, mask building and a pooler
whose output the sentence vector never uses. This pass calls the same kernels, on the same
weights, in the same order and with the same arguments as BertModel.forward (transformers
5.x, sdpa attention), then the model's own pooling and normalisation modules, so a vector is
the same bit for bit, int8 and fp32 (tests/unit/test_embed.py compares it with
SentenceTransformer.encode; it measured 6.2 -> 4.1 ms of CPU per sentence, int8, one thread).

Only for the model shape it was written for: a SentenceTransformer of a Transformer module
over an encoder-only BertModel (sdpa attention, absolute positions, no feed-forward chunking,
plain or dynamically int8-quantized Linear layers), then any modules that read the token
embeddings (Pooling, Normalize). For anything else `bert_pass` returns None and the encoder
runs the model's own forward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["bert_pass"]

Features = dict[str, Any]
Pass = Callable[[Features], Any]


def bert_pass(model: Any) -> Pass | None:
    """features (input_ids, token_type_ids, attention_mask of one unpadded text) -> the
    model's sentence_embedding; None when `model` is not of the shape this pass reproduces."""
    try:
        from sentence_transformers.base.modules.transformer import Transformer
        from transformers.models.bert.modeling_bert import BertModel
    except ImportError:  # pragma: no cover - another library layout: the model's own forward
        return None

    modules = list(model.children())
    if not modules or type(modules[0]) is not Transformer:
        return None
    transformer = modules[0]
    bert = transformer.auto_model
    config = bert.config
    if (
        type(bert) is not BertModel
        or transformer.modality_config.get("text")
        != {"method": "forward", "method_output_name": "last_hidden_state"}
        or config._attn_implementation != "sdpa"
        or config.is_decoder
        or config.add_cross_attention
        or config.output_hidden_states
        or config.chunk_size_feed_forward
        or getattr(config, "position_embedding_type", "absolute") != "absolute"
    ):
        return None
    layers: list[tuple[Any, ...]] = []
    for layer in bert.encoder.layer:
        parts = _layer(layer)
        if parts is None:
            return None
        layers.append(parts)
    embeddings = bert.embeddings
    output_name = transformer.module_output_name
    after = modules[1:]

    def run(features: Features) -> Any:
        import torch

        ids, types, mask = (
            features["input_ids"],
            features["token_type_ids"],
            features["attention_mask"],
        )
        if ids.shape[0] != 1 or not bool(mask.all()):
            # padded or batched: the model's own forward (transformers builds the mask)
            return model.forward(features)["sentence_embedding"]
        n = ids.shape[1]
        # BertEmbeddings.forward: (word + token type) + position, LayerNorm (dropout: eval)
        x = embeddings.word_embeddings(ids) + embeddings.token_type_embeddings(types)
        x = x + embeddings.position_embeddings(embeddings.position_ids[:, 0:n])
        x = embeddings.LayerNorm(x)
        # No attention mask: transformers passes None to sdpa for an all-ones mask.
        sdpa = torch.nn.functional.scaled_dot_product_attention
        for query, key, value, head, scale, dense, norm1, up, act, down, norm2 in layers:
            shape = (1, n, -1, head)
            q = query(x).view(*shape).transpose(1, 2)
            k = key(x).view(*shape).transpose(1, 2)
            v = value(x).view(*shape).transpose(1, 2)
            a = sdpa(q, k, v, attn_mask=None, dropout_p=0.0, scale=scale, is_causal=False)
            a = a.reshape(a.shape[0], -1, n, v.shape[-1]).transpose(1, 2).contiguous()
            a = a.reshape(1, n, -1).contiguous()
            h = norm1(dense(a) + x)
            x = norm2(down(act(up(h))) + h)
        features = {**features, output_name: x}
        for module in after:
            features = module(features)
        return features["sentence_embedding"]

    return run


def _layer(layer: Any) -> tuple[Any, ...] | None:
    """One BertLayer as the callables its forward applies, or None if it is not a plain one."""
    attention = layer.attention.self
    parts = (
        _linear(attention.query),
        _linear(attention.key),
        _linear(attention.value),
        attention.attention_head_size,
        attention.scaling,
        _linear(layer.attention.output.dense),
        _layer_norm(layer.attention.output.LayerNorm),
        _linear(layer.intermediate.dense),
        layer.intermediate.intermediate_act_fn,
        _linear(layer.output.dense),
        _layer_norm(layer.output.LayerNorm),
    )
    return None if any(p is None for p in parts) else parts


def _linear(module: Any) -> Callable[[Any], Any] | None:
    """What the module's forward computes, without the module call around it."""
    import torch

    if type(module) is torch.nn.Linear:
        weight, bias = module.weight, module.bias
        linear = torch.nn.functional.linear
        return lambda x: linear(x, weight, bias)
    dynamic = torch.ao.nn.quantized.dynamic.Linear
    if (
        type(module) is dynamic
        and module._packed_params.dtype == torch.qint8
        and module.version is not None
        and module.version >= 4
    ):
        packed = module._packed_params._packed_params
        op = torch.ops.quantized.linear_dynamic
        # the module returns Y.to(x.dtype): float32 in, float32 out, the same tensor
        return lambda x: op(x, packed, reduce_range=True)
    return None


def _layer_norm(module: Any) -> Callable[[Any], Any] | None:
    import torch

    if type(module) is not torch.nn.LayerNorm:
        return None
    shape, weight, bias, eps = module.normalized_shape, module.weight, module.bias, module.eps
    layer_norm = torch.nn.functional.layer_norm
    return lambda x: layer_norm(x, shape, weight, bias, eps)
