"""PEL101: a learned position table that starts, and stays, all zeros."""

from __future__ import annotations

from typing import Iterator

from posenc_lint.fixes.initialise import initialise_fix
from posenc_lint.model import ModuleModel
from posenc_lint.rules._learned_tables import unset_learned_tables
from posenc_lint.rules.base import Finding, Rule


class ZeroInitializedPositionTable(Rule):
    """
    ## What it does
    Reports a learned position table (an `nn.Parameter`) created with zeros
    (`torch.zeros`, `zeros_like`, `new_zeros`, `nn.init.zeros_`) that nothing
    in the file initialises afterwards.

    Any code in the file that writes the table's values counts as initialisation:
    `nn.init.*` and other init helpers that receive it (`trunc_normal_` from timm
    included), in-place methods such as `normal_` or `copy_` on the table or its
    `.data`, an assignment to `.data`, and `_init_weights(self, module)` or
    `apply` hooks that reach it as `module.<name>`.

    ## Why is this bad?
    Every position starts with the same vector, so the model cannot tell
    positions apart until training has pushed the rows apart. Training from
    scratch converges more slowly, and a model that is never trained further
    has no position information at all.

    ## Example
    ```python
    import torch
    from torch import nn


    class Embed(nn.Module):
        def __init__(self, num_patches, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))

        def forward(self, x):
            return x + self.pos_embed
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class Embed(nn.Module):
        def __init__(self, num_patches, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

        def forward(self, x):
            return x + self.pos_embed
    ```

    ## Fix safety
    The fix is unsafe: it inserts `nn.init.trunc_normal_(self.<name>, std=0.02)`
    right after the statement that creates the table, spelled with the file's own
    top-level import of `torch.nn`, `torch.nn.init` or `torch`. When the file has
    none that the method can use, the fix adds `from torch import nn` (or
    `import torch`) after the last top-level import, provided that name is free
    in the file. A table zeroed by `nn.init.zeros_(self.<name>)` or
    `nn.init.constant_(self.<name>, 0)` gets `trunc_normal_` in that call's place. The table's starting values change, and with them the
    outputs of a model that is not trained further; `state_dict` keys stay the
    same. There is no fix when the table is created in a one-line `if` body or
    with a non-floating-point dtype, or when no spelling of `torch.nn.init` is
    free to use.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL101"
    name = "zero-initialized-position-table"
    summary = "A learned position table is created with zeros and never initialised"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for table in unset_learned_tables(model):
            if table.how != "zeros":
                continue
            yield Finding(
                table.node,
                f"learned position table `{table.attr}` is created with zeros and nothing in "
                "this file initialises it, so every position starts with the same vector; "
                f"initialise it, for example with `nn.init.trunc_normal_(self.{table.attr}, std=0.02)`",
                initialise_fix(model, table),
            )
