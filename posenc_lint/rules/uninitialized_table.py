"""PEL102: a learned position table created with ``torch.empty`` and never initialised."""

from __future__ import annotations

from typing import Iterator

from posenc_lint.fixes.initialise import initialise_fix
from posenc_lint.model import ModuleModel
from posenc_lint.rules._learned_tables import unset_learned_tables
from posenc_lint.rules.base import Finding, Rule


class UninitializedPositionTable(Rule):
    """
    ## What it does
    Reports a learned position table created with `torch.empty`, `empty_like`,
    `new_empty` or `torch.Tensor(n, d)` that nothing in the file initialises
    afterwards. What counts as initialisation is the same as for PEL101.

    ## Why is this bad?
    The table holds whatever the allocator left in memory: values that differ
    from run to run, and can be huge, infinite or NaN.

    ## Example
    ```python
    import torch
    from torch import nn


    class TextEncoder(nn.Module):
        def __init__(self, context_length, width):
            super().__init__()
            self.positional_embedding = nn.Parameter(torch.empty(context_length, width))

        def forward(self, x):
            return x + self.positional_embedding[: x.shape[1]]
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class TextEncoder(nn.Module):
        def __init__(self, context_length, width):
            super().__init__()
            self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
            nn.init.normal_(self.positional_embedding, std=0.01)

        def forward(self, x):
            seq_len = x.shape[1]
            if seq_len > self.positional_embedding.shape[0]:
                raise ValueError(
                    f"sequence length {seq_len} exceeds the maximum {self.positional_embedding.shape[0]}"
                )
            return x + self.positional_embedding[:seq_len]
    ```

    ## Fix safety
    The fix is unsafe: it inserts `nn.init.trunc_normal_(self.<name>, std=0.02)`
    right after the statement that creates the table, spelled with the file's own
    top-level import of `torch.nn`, `torch.nn.init` or `torch`. When the file has
    none that the method can use, the fix adds `from torch import nn` (or
    `import torch`) after the last top-level import, provided that name is free
    in the file. The table's starting values change, and with them the
    outputs of a model that is not trained further; `state_dict` keys stay the
    same. There is no fix when the table is created in a one-line `if` body or
    with a non-floating-point dtype, or when no spelling of `torch.nn.init` is
    free to use.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL102"
    name = "uninitialized-position-table"
    summary = "A learned position table is created with torch.empty and never initialised"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for table in unset_learned_tables(model):
            if table.how != "empty":
                continue
            yield Finding(
                table.node,
                f"learned position table `{table.attr}` is created with `torch.empty` and "
                "nothing in this file initialises it, so it holds whatever memory held; "
                f"initialise it, for example with `nn.init.trunc_normal_(self.{table.attr}, std=0.02)`",
                initialise_fix(model, table),
            )
