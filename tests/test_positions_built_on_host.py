"""PEL402: position indices built on the CPU and then copied to the device."""

from helpers import findings

HEADER = """
import torch
from torch import nn
"""


def pel402(source):
    return findings(HEADER + source, select=["PEL402"])


def test_chain_moved_to_input_device_fires():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x):
        n, seq_length = x.shape[0], x.shape[1]
        positions = torch.arange(0, seq_length).expand(n, seq_length).to(x.device)
        return x + self.pos_embed(positions)
"""
    assert pel402(source) == [("PEL402", 12)]


def test_move_through_local_name_fires_on_arange_line():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x):
        positions = torch.arange(x.shape[1], dtype=torch.long)
        positions = positions.unsqueeze(0)
        positions = positions.to(device=x.device)
        return x + self.pos_embed(positions)
"""
    assert pel402(source) == [("PEL402", 11)]


def test_cuda_call_fires():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x):
        positions = torch.arange(x.shape[1])[None, :].cuda()
        return x + self.pos_embed(positions)
"""
    assert pel402(source) == [("PEL402", 11)]


def test_device_name_and_string_fire():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x, target_device):
        a = torch.arange(x.shape[1]).to(target_device)
        b = torch.arange(x.shape[1]).to("cuda:0")
        c = torch.arange(x.shape[1]).to(torch.device("cuda"))
        return x + self.pos_embed(a) + self.pos_embed(b) + self.pos_embed(c)
"""
    assert pel402(source) == [("PEL402", 11), ("PEL402", 12), ("PEL402", 13)]


def test_helper_function_called_from_forward_fires():
    source = """
def make_positions(x):
    return torch.arange(x.shape[1]).unsqueeze(0).to(x.device)


class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x):
        return x + self.pos_embed(make_positions(x))
"""
    assert pel402(source) == [("PEL402", 6)]


def test_one_finding_for_two_moves_of_one_arange():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x, y):
        positions = torch.arange(x.shape[1])
        return self.pos_embed(positions.to(x.device)) + self.pos_embed(positions.to(y.device))
"""
    assert pel402(source) == [("PEL402", 11)]


def test_arange_with_device_is_clean():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x):
        positions = torch.arange(x.shape[1], device=x.device).unsqueeze(0).to(torch.long)
        return x + self.pos_embed(positions)
"""
    assert pel402(source) == []


def test_dtype_cast_is_clean():
    # transformers' ctrl: `torch.arange(n, dtype=torch.int64).to(dtype)` only casts.
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        position = torch.arange(x.shape[1], dtype=torch.int64).to(x.dtype).unsqueeze(1)
        freqs = torch.arange(self.dim, dtype=torch.int64).to(dtype=torch.float)
        return x + position * freqs
"""
    assert pel402(source) == []


def test_move_to_tensor_is_clean():
    # `.to(other)` may only cast, so it is left alone.
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x, boxes):
        index = torch.arange(boxes.shape[1])[:, None].to(boxes)
        return x + index
"""
    assert pel402(source) == []


def test_move_to_cpu_is_clean():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x):
        positions = torch.arange(x.shape[1]).to("cpu")
        return x + self.pos_embed(positions)
"""
    assert pel402(source) == []


def test_buffer_built_in_init_is_clean():
    # transformers' BertEmbeddings: the ids are a non-persistent buffer built
    # once, and `.to()` on the model moves them.
    source = """
class Embeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.position_ids = nn.Buffer(
            torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )

    def forward(self, input_ids):
        seq_length = input_ids.shape[1]
        return self.position_embeddings(self.position_ids[:, :seq_length])
"""
    assert pel402(source) == []


def test_init_helper_run_once_is_clean():
    # The shape of transformers' rope init functions: frequencies built once
    # while the model is constructed.
    source = """
def compute_inv_freq(dim, base, device=None):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim))


class Rotary(nn.Module):
    def __init__(self, dim, device=None):
        super().__init__()
        self.register_buffer("inv_freq", self._make(dim, device), persistent=False)

    def _make(self, dim, device):
        return torch.arange(0, dim, 2).float().to(device) / dim

    def forward(self, x):
        return x * self.inv_freq
"""
    assert pel402(source) == []


def test_arange_passed_as_argument_is_clean():
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Embedding(max_len, dim)

    def forward(self, x):
        return self.pos_embed(torch.arange(x.shape[1])).to(x.device)
"""
    assert pel402(source) == []
