"""PEL506: rows appended to a position table are built for positions that start at 0."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Set, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.catalogue import BUILDER_NAME
from posenc_lint.fixes import FixPlan, extension_start, precompute
from posenc_lint.model import CallSite, ClassModel, FunctionModel, ModuleModel, iter_module_classes
from posenc_lint.rules._runtime import resolve_local, small_statement
from posenc_lint.rules.base import Finding, Rule

CONCATENATE = {"torch.cat", "torch.concat", "torch.concatenate"}



class ExtensionRestartsAtZero(Rule):
    """
    ## What it does
    Reports `torch.cat([self.<table>, extra])` on a position table when the
    appended rows are built for positions that start at 0 instead of at the
    table's current length:

    - `extra` comes from a table builder called with a count such as
      `seq_len - self.pe.size(0)` and no argument that passes the table's
      length as a start (`build(seq_len - n, d)` but not
      `build(seq_len - n, d, start=n)`), or
    - `extra` is computed from `torch.arange(need - have)` or
      `torch.arange(0, need - have)` without adding `have` back.

    Growing a table with `torch.zeros` or random rows is not reported: those
    rows carry no position at all, which is a different question.

    ## Why is this bad?
    The new rows are the table's first rows again: position `max_len` gets the
    vector of position 0, `max_len + 1` that of position 1, and so on. Inputs
    longer than the original table run without error, but their later tokens
    are indistinguishable from their first ones.

    ## Example
    ```python
    import math

    import torch
    from torch import nn


    def sinusoidal_init(num_positions, dim):
        position = torch.arange(num_positions).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        table = torch.zeros(num_positions, dim)
        table[:, 0::2] = torch.sin(position * div_term)
        table[:, 1::2] = torch.cos(position * div_term[: dim // 2])
        return table


    class PositionalEmbedding(nn.Module):
        def __init__(self, embed_size, max_len=1024):
            super().__init__()
            self.embed_size = embed_size
            self.register_buffer("pos_embed", sinusoidal_init(max_len, embed_size), persistent=False)

        def forward(self, x):
            seq_length = x.shape[1]
            if seq_length > self.pos_embed.size(0):
                extra = sinusoidal_init(seq_length - self.pos_embed.size(0), self.embed_size)
                self.pos_embed = torch.cat([self.pos_embed, extra.to(x.device)])
            return x + self.pos_embed[:seq_length]
    ```

    ## Use instead
    ```python
    import math

    import torch
    from torch import nn


    def sinusoidal_init(num_positions, dim, start=0):
        position = torch.arange(start, start + num_positions).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        table = torch.zeros(num_positions, dim)
        table[:, 0::2] = torch.sin(position * div_term)
        table[:, 1::2] = torch.cos(position * div_term[: dim // 2])
        return table


    class PositionalEmbedding(nn.Module):
        def __init__(self, embed_size, max_len=1024):
            super().__init__()
            self.embed_size = embed_size
            self.register_buffer("pos_embed", sinusoidal_init(max_len, embed_size), persistent=False)

        def forward(self, x):
            seq_length = x.shape[1]
            have = self.pos_embed.size(0)
            if seq_length > have:
                extra = sinusoidal_init(seq_length - have, self.embed_size, start=have)
                self.pos_embed = torch.cat([self.pos_embed, extra.to(x.device)])
            return x + self.pos_embed[:seq_length]
    ```

    ## Fix safety
    The fix is unsafe. When the extension runs on the forward path, inside an
    `if need > have:` block where `have` is the table's length or an attribute
    such as `self.max_len`, the fix is the precompute-and-slice rewrite: it
    replaces that block's body with
    `raise ValueError(f"sequence length {need} exceeds the maximum {have}")`.
    Inputs that fit the table built in `__init__` give the same outputs, and a
    longer input raises instead of getting rows that repeat the first ones.
    In a method that `forward` does not reach, such as an explicit resize
    method, the fix turns `torch.arange(need - have)` (or
    `torch.arange(0, need - have)`) into `torch.arange(have, need)`, which
    changes the appended rows to those of the positions after the table's end.

    On the forward path there is no fix in the cases where PEL301 has none. The
    table must be created in `__init__` with more than one row, and written on
    the forward path only inside the block. The test must be a single `>` or
    `<` comparison, and the block may only build rows, write the table and log.
    Elsewhere there is no fix when the rows come from a builder function with
    no start argument, or when the count is computed in a separate statement.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL506"
    name = "extension-restarts-at-zero"
    summary = "Rows appended to a position table repeat the positions from 0"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for cls in iter_module_classes(model):
            for function in cls.methods.values():
                for call in function.calls:
                    extension = _extended_table(model, cls, function, call)
                    if extension is None:
                        continue
                    attr, pieces = extension
                    restarts = [
                        found for piece in pieces for found in _restarting_calls(model, function, piece)
                    ]
                    if not restarts:
                        continue
                    yield Finding(
                        small_statement(call.statement, call.node),
                        f"the rows appended to position table `{attr}` are built for positions "
                        "starting at 0, so they repeat its first rows; build them for positions "
                        f"starting at the table's current length (`self.{attr}.size(0)`)",
                        _fix(model, cls, attr, call.node, function, restarts),
                    )


def _extended_table(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, call: CallSite
) -> Optional[Tuple[str, List[cst.BaseExpression]]]:
    """Return ``T`` and the appended pieces when ``call`` is ``torch.cat([self.T, ...])`` on a position table."""
    if call.qualname not in CONCATENATE or not call.node.args:
        return None
    sequence = call.node.args[0].value
    if call.node.args[0].keyword is not None and call.node.args[0].keyword.value != "tensors":
        return None
    if not isinstance(sequence, (cst.List, cst.Tuple)) or len(sequence.elements) < 2:
        return None
    first = sequence.elements[0]
    if isinstance(first, cst.StarredElement):
        return None
    attr = function.self_attribute(syntax.strip_data(first.value))
    if attr is None:
        return None
    if not (model.is_table(cls, attr) or _assigned_back(function, call, attr)):
        return None
    return attr, [element.value for element in sequence.elements[1:]]


def _assigned_back(function: FunctionModel, call: CallSite, attr: str) -> bool:
    for assignment in function.assignments:
        if assignment.statement is not call.statement:
            continue
        if any(function.self_attribute(syntax.strip_data(target)) == attr for target in assignment.targets):
            return True
    return False


def _fix(
    model: ModuleModel,
    cls: ClassModel,
    attr: str,
    node: cst.CSTNode,
    function: FunctionModel,
    restarts: List[Tuple[cst.Call, cst.BinaryOperation]],
) -> Optional[FixPlan]:
    """Raise instead of growing on the forward path; elsewhere, start the new positions at the table's length."""
    if function.name in cls.forward_reachable:
        return precompute.growth_fix(model, cls, attr, node, function)
    return extension_start.start_fix(model, restarts)


def _restarting_calls(
    model: ModuleModel, function: FunctionModel, piece: cst.BaseExpression
) -> List[Tuple[cst.Call, cst.BinaryOperation]]:
    """Return the calls in ``piece`` (or the locals it reads) that build positions from 0."""
    found: List[Tuple[cst.Call, cst.BinaryOperation]] = []
    expressions = _expression_and_locals(model, function, piece)
    code = _code_of(model, expressions)
    for expression in expressions:
        for node in syntax.walk(expression):
            if not isinstance(node, cst.Call):
                continue
            subtraction = _count_from_zero(model, function, node)
            if subtraction is None:
                continue
            start = model.module.code_for_node(subtraction.right).strip()
            # `arange(need - have) + have`, or a builder given `start=have`, restarts nowhere.
            if _mentions_elsewhere(code, start, model.module.code_for_node(subtraction)):
                continue
            found.append((node, subtraction))
    return found


def _count_from_zero(
    model: ModuleModel, function: FunctionModel, call: cst.Call
) -> Optional[cst.BinaryOperation]:
    """Return ``need - have`` when ``call`` builds positions ``0 .. need - have - 1``."""
    qualname = model.qualname(call.func) or ""
    if qualname == "torch.arange":
        positional = syntax.positional_args(call)
        if len(positional) == 1:
            end: Optional[cst.BaseExpression] = positional[0]
        elif len(positional) == 2 and syntax.int_value(positional[0]) == 0:
            end = positional[1]
        elif not positional:
            start = syntax.keyword_arg(call, "start")
            if start is not None and syntax.int_value(start) != 0:
                return None
            end = syntax.keyword_arg(call, "end")
        else:
            return None
        return _subtraction(model, function, end)
    if qualname.startswith("torch.") or qualname.startswith("numpy.") or qualname.startswith("math."):
        return None
    if not _is_position_builder(model, function, call):
        return None
    for arg in call.args:
        found = _subtraction(model, function, arg.value)
        if found is not None:
            return found
    return None


def _is_position_builder(model: ModuleModel, function: FunctionModel, call: cst.Call) -> bool:
    callee = model.callee_function(call, function)
    if callee is not None and callee.is_sinusoid_builder(model):
        return True
    name = syntax.last_name(call.func)
    return name is not None and bool(BUILDER_NAME.search(name))


def _subtraction(
    model: ModuleModel, function: FunctionModel, node: Optional[cst.BaseExpression]
) -> Optional[cst.BinaryOperation]:
    value = resolve_local(model, function, node)
    if (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, cst.Subtract)
        and syntax.number_value(value.right) is None
    ):
        return value
    return None


def _expression_and_locals(
    model: ModuleModel, function: FunctionModel, piece: cst.BaseExpression
) -> List[cst.BaseExpression]:
    """Return ``piece`` and the values of the local names it is computed from."""
    found: List[cst.BaseExpression] = []
    seen: Set[int] = set()
    stack: List[cst.BaseExpression] = [piece]
    while stack and len(found) < 32:
        expression = stack.pop()
        if id(expression) in seen:
            continue
        seen.add(id(expression))
        found.append(expression)
        for name in syntax.names_in(expression):
            resolved = resolve_local(model, function, name)
            if resolved is not None and resolved is not name:
                stack.append(resolved)
    return found


def _code_of(model: ModuleModel, expressions: List[cst.BaseExpression]) -> str:
    return "\n".join(model.module.code_for_node(expression) for expression in expressions)


def _mentions_elsewhere(code: str, start: str, subtraction: str) -> bool:
    """Whether ``start`` appears in ``code`` outside the subtraction it comes from."""
    pattern = r"(?<![\w.])" + re.escape(start) + r"(?!\w)"
    return re.search(pattern, code.replace(subtraction, "")) is not None
