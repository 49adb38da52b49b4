"""PEL101 zero-initialized-position-table and PEL102 uninitialized-position-table."""

from helpers import codes, findings

HEADER = """
import torch
import torch.nn as nn
"""


def test_zero_table_without_init_is_reported():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
"""
    assert findings(source) == [("PEL101", 8)]


def test_zero_table_with_trunc_normal_later_in_init_is_clean():
    source = HEADER + """
from timm.layers import trunc_normal_

class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
        trunc_normal_(self.pos_embed, std=.02)
"""
    assert codes(source) == []


def test_zero_table_with_init_in_another_method_is_clean():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
        self.init_weights()

    def init_weights(self):
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
"""
    assert codes(source) == []


def test_zero_table_initialised_through_init_weights_hook_is_clean():
    source = HEADER + """
class Embeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.position_embeddings = nn.Parameter(torch.zeros(1, config.n, config.d))

class PreTrained(nn.Module):
    def _init_weights(self, module):
        if isinstance(module, Embeddings):
            module.position_embeddings.data.normal_(mean=0.0, std=0.02)
"""
    assert codes(source) == []


def test_init_before_the_zero_creation_does_not_count():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, n, d))
        nn.init.normal_(self.pos_embed)
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
"""
    assert findings(source) == [("PEL101", 10)]


def test_commented_out_init_does_not_count():
    source = HEADER + """
class Text(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.zeros(n, d))

    def init_parameters(self):
        # nn.init.normal_(self.positional_embedding, std=0.01)
        pass
"""
    assert codes(source) == ["PEL101"]


def test_explicit_zeros_init_is_reported_at_the_call():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, n, d))
        nn.init.zeros_(self.pos_embed)
"""
    assert findings(source) == [("PEL101", 9)]


def test_scaled_randn_table_is_initialised():
    source = HEADER + """
class Vision(nn.Module):
    def __init__(self, n, width):
        super().__init__()
        scale = width ** -0.5
        self.positional_embedding = nn.Parameter(scale * torch.randn(n, width))
"""
    assert codes(source) == []


def test_zeros_through_aliases_and_local_names():
    source = """
import torch as th
from torch.nn import Parameter as P
from torch import nn

class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        table = th.zeros(n, d)
        self.wpe = P(table)
"""
    assert findings(source) == [("PEL101", 10)]


def test_local_table_initialised_before_wrapping_is_clean():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        pos_embed = torch.zeros(1, n, d)
        nn.init.trunc_normal_(pos_embed, std=0.02)
        self.pos_embed = nn.Parameter(pos_embed)
"""
    assert codes(source) == []


def test_cls_token_and_gates_are_not_tables():
    source = HEADER + """
class TiledTokenPositionalEmbedding(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.gate = nn.Parameter(torch.zeros(1))
"""
    assert codes(source) == []


def test_relative_position_bias_table_starting_at_zero_is_clean():
    source = HEADER + """
class WindowAttention(nn.Module):
    def __init__(self, window, heads):
        super().__init__()
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * window - 1, heads))
"""
    assert codes(source) == []


def test_frozen_zero_table_is_not_pel101():
    source = HEADER + """
class Mae(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d), requires_grad=False)
"""
    assert "PEL101" not in codes(source)


def test_loop_over_parameters_initialises_every_table():
    source = HEADER + """
class Model(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
"""
    assert codes(source) == []


def test_table_in_plain_class_is_not_reported():
    source = HEADER + """
class Config:
    def __init__(self, n, d):
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
"""
    assert codes(source) == []


def test_module_subclass_through_external_base():
    source = HEADER + """
from transformers import PreTrainedModel

class ViltPreTrainedModel(PreTrainedModel):
    pass

class ViltEmbeddings(ViltPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.position_embeddings = nn.Parameter(torch.zeros(1, config.n, config.d))
"""
    assert codes(source) == ["PEL101"]


def test_empty_table_without_init_is_pel102():
    source = HEADER + """
class Text(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.empty(n, d))
"""
    assert findings(source) == [("PEL102", 8)]


def test_empty_table_initialised_in_init_parameters_is_clean():
    source = HEADER + """
class Text(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.empty(n, d))
        self.init_parameters()

    def init_parameters(self):
        nn.init.normal_(self.positional_embedding, std=0.01)
"""
    assert codes(source) == []


def test_empty_table_then_zeros_init_is_pel101_not_pel102():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.empty(1, n, d))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.zeros_(self.pos_embed)
"""
    assert codes(source) == ["PEL101"]


def test_uninitialised_tensor_constructor_is_pel102():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.Tensor(n, d))
        self.weight = nn.Parameter(torch.Tensor([1.0, 2.0]))
"""
    assert codes(source) == ["PEL102"]


def test_init_weights_inherited_from_another_file_counts():
    source = HEADER + """
from timm.models.vision_transformer import VisionTransformer

class DistilledVisionTransformer(VisionTransformer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, weight_init="skip")
        self.pos_embed = nn.Parameter(torch.empty(1, self.num_patches + 2, self.embed_dim))
        self.init_weights()

    def init_weights(self, mode=""):
        super().init_weights(mode=mode)
"""
    assert codes(source) == []


def test_post_init_inherited_from_library_counts():
    source = HEADER + """
from transformers import PreTrainedModel

class VisionEncoder(PreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.pos_embed = nn.Parameter(torch.zeros(1, config.n, config.d))
        self.post_init()
"""
    assert codes(source) == []
