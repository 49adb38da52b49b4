"""PEL401: a fixed sin/cos table rebuilt on every ``forward`` call from shapes only."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import precompute
from posenc_lint.model import CallSite, ClassModel, FunctionModel, ModuleModel, iter_module_classes
from posenc_lint.rules._runtime import (
    DependencyAnalysis,
    is_cached_method,
    nested_scope_nodes,
    small_statement,
    writes_self_state,
)
from posenc_lint.rules.base import Finding, Rule

SIN_COS_FUNCTIONS = {"torch.sin", "torch.cos", "torch.polar"}
SIN_COS_METHODS = {"sin", "cos", "sin_", "cos_"}


class TableRebuiltInForward(Rule):
    """
    ## What it does
    Reports a method that `forward` always runs and that computes a sin/cos
    table on every call from values that do not change between calls with the
    same shapes. `forward` always runs itself and the methods it calls outside
    any `if`, `while` or `try`. The values that do not change are `arange` or
    `linspace` positions, `x.shape`, `x.size()`, `len(x)`, `x.device`,
    `x.dtype`, configuration stored on `self`, fixed buffers and literals. A
    call to a sinusoid table builder defined in the same file, with arguments
    of that kind only, counts too.

    A table that also depends on data is not reported: position ids, masks or
    offsets passed to `forward`, the input's values, learned parameters,
    submodule outputs, random numbers, and anything the check cannot follow.
    Methods whose result is cached (a decorator named like `lru_cache`) and
    methods that store a value on `self`, as length caches do, are not
    reported either.

    ## Why is this bad?
    The table's values depend only on its length, so every call spends time
    and memory recomputing exactly what the previous call computed: an
    `arange`, a product and a `sin` and `cos` over `max_len * d_model` values,
    usually in float32, on every step of training and of generation.

    ## Example
    ```python
    import math

    import torch
    from torch import nn


    class SinusoidalPositionalEncoding(nn.Module):
        def __init__(self, d_model):
            super().__init__()
            self.d_model = d_model

        def forward(self, x):
            seq_len = x.shape[1]
            position = torch.arange(seq_len, device=x.device).unsqueeze(1)
            div_term = torch.exp(
                torch.arange(0, self.d_model, 2, device=x.device) * (-math.log(10000.0) / self.d_model)
            )
            pe = torch.zeros(seq_len, self.d_model, device=x.device)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            return x + pe
    ```

    ## Use instead
    ```python
    import math

    import torch
    from torch import nn


    class SinusoidalPositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=4096):
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, d_model)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
            self.register_buffer("pe", pe, persistent=False)

        def forward(self, x):
            if x.shape[1] > self.pe.shape[0]:
                raise ValueError(f"sequence length {x.shape[1]} exceeds max_len {self.pe.shape[0]}")
            return x + self.pe[: x.shape[1]]
    ```

    ## Fix safety
    The fix is unsafe. The statements that compute the table move to the end of
    `__init__`, with the input's length replaced by the maximum length and
    `device=` arguments and `.to(device)` calls taken from the input removed.
    The result is registered with `register_buffer(name, table, persistent=False)`,
    so no `state_dict` key is added and the table follows `module.to()`,
    including its dtype. `forward` raises `ValueError` for an input longer than
    the table and otherwise uses its first `seq_len` rows, so inputs up to the
    maximum length get the same values. When the table was computed inside a
    larger expression, such as `x + table(x.size(1), d)`, only that call moves.

    The maximum length is an `__init__` parameter or attribute named like
    `max_len`, `max_seq_len`, `context_length` or `block_size`. When there is
    none, the fix adds a keyword parameter `max_len` whose default is the
    `default-max-len` setting, and the fix message says so.

    There is no fix when the table's values (not only its size) depend on the
    length, when its dtype comes from the input, when the computation goes
    through calls or reshapes the fixer does not follow (`view`, `reshape`,
    loops, branches), when `forward` writes into the table, when `__init__`
    returns early or takes `**kwargs` and a parameter would be added, or when
    the class has no `__init__` of its own.

    ## Options
    - `default-max-len` (in `[tool.posenc-lint.fix]`, default 2048): the default of
      the `max_len` parameter the fix adds when the code names no maximum length.
    """

    code = "PEL401"
    name = "table-rebuilt-in-forward"
    summary = "A fixed sin/cos table is rebuilt on every forward call from shapes only"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for cls in iter_module_classes(model):
            methods = cls.all_methods()
            for name in sorted(cls.forward_always_reachable):
                function = methods.get(name)
                if function is None or function.name == "__init__":
                    continue
                if is_cached_method(function) or writes_self_state(function):
                    continue
                anchor = self._first_rebuild(model, cls, function)
                if anchor is None:
                    continue
                yield Finding(
                    small_statement(anchor.statement, anchor.node),
                    f"`{cls.name}.{function.name}` rebuilds a fixed sin/cos table on every call "
                    "from shapes and configuration only; build it once in `__init__` and "
                    "register it as a buffer (`persistent=False`), then slice it to the input's "
                    "length",
                    precompute.rebuild_fix(model, cls, function, anchor.node),
                )

    def _first_rebuild(
        self, model: ModuleModel, cls: ClassModel, function: FunctionModel
    ) -> Optional[CallSite]:
        """Return the first call in ``function`` that computes a shape-only table."""
        nested = nested_scope_nodes(function)
        analysis = DependencyAnalysis(model, cls, function)
        returns = [statement for statement in function.returns if id(statement) not in nested]
        for call in function.calls:
            if call.conditional or id(call.node) in nested:
                continue
            if any(_returns_before(model, statement, call) for statement in returns):
                # An earlier `return` can skip the computation, as a length cache
                # (`if pe.size(1) >= needed: return pe`) does.
                return None
            if self._is_shape_only_sin_cos(model, analysis, call):
                return call
            if self._is_shape_only_builder_call(model, analysis, function, call):
                return call
        return None

    def _is_shape_only_sin_cos(
        self, model: ModuleModel, analysis: DependencyAnalysis, call: CallSite
    ) -> bool:
        node = call.node
        if call.qualname in SIN_COS_FUNCTIONS:
            argument = node.args[-1].value if call.qualname == "torch.polar" else None
            if argument is None and node.args:
                argument = node.args[0].value
            if argument is None:
                return False
            dependencies = analysis.of(argument)
        elif call.method in SIN_COS_METHODS and not node.args:
            receiver = call.receiver
            if _is_module_reference(model, receiver):
                # `math.sin`, `np.cos`: a scalar or NumPy value, not a torch table.
                return False
            dependencies = analysis.of(receiver)
        else:
            return False
        return dependencies.positions and not dependencies.data

    def _is_shape_only_builder_call(
        self,
        model: ModuleModel,
        analysis: DependencyAnalysis,
        function: FunctionModel,
        call: CallSite,
    ) -> bool:
        callee = model.callee_function(call.node, function)
        if callee is None or callee is function or not callee.is_sinusoid_builder(model):
            return False
        if is_cached_method(callee) or writes_self_state(callee) or len(callee.returns) > 1:
            # A builder that stores its table or returns early may be a length cache.
            return False
        return not any(analysis.of(arg.value).data for arg in call.node.args)


def _returns_before(model: ModuleModel, statement: cst.Return, call: CallSite) -> bool:
    """Whether ``statement`` comes before ``call`` and does not contain it."""
    if model.order_of(statement) >= call.order:
        return False
    return not any(node is call.node for node in syntax.walk(statement))


def _is_module_reference(model: ModuleModel, node: Optional[cst.BaseExpression]) -> bool:
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name) and node.value in model.aliases
