"""PEL402: position indices built on the CPU and then copied to the device."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes.devices import device_fix
from posenc_lint.model import CallSite, FunctionModel, ModuleModel, iter_module_classes
from posenc_lint.rules._runtime import is_device_expression, resolve_local, small_statement
from posenc_lint.rules.base import Finding, Rule


class PositionsBuiltOnHost(Rule):
    """
    ## What it does
    Reports a `torch.arange(...)` called without `device=` whose result is then
    moved to a device with `.to(<device>)`, `.to(device=...)` or `.cuda()`,
    either in the same expression (`torch.arange(n).unsqueeze(0).to(x.device)`)
    or through a local name in the same function.

    A device argument is `x.device`, a name containing "device",
    `torch.device(...)` or a string such as `"cuda"`. `.to(x.dtype)` only
    casts and `.to(other_tensor)` may only cast, so neither is reported.
    Only code that runs on every call is checked: the methods `forward` can
    reach and the module-level functions they call by name. Code in `__init__`
    and in helpers only the constructor calls runs once and is not reported.

    ## Why is this bad?
    The indices are first written in host memory, then copied to the
    accelerator on every call. The copy from pageable memory blocks the host
    until it is done, and it cannot be captured in a CUDA graph. Built with
    `device=`, the same indices are written directly where they are used.

    ## Example
    ```python
    import torch
    from torch import nn


    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.position_embeddings = nn.Embedding(max_len, dim)

        def forward(self, x):
            if x.shape[1] > self.position_embeddings.num_embeddings:
                raise ValueError(f"sequence length {x.shape[1]} exceeds the position table")
            positions = torch.arange(x.shape[1]).unsqueeze(0).to(x.device)
            return x + self.position_embeddings(positions)
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.position_embeddings = nn.Embedding(max_len, dim)

        def forward(self, x):
            if x.shape[1] > self.position_embeddings.num_embeddings:
                raise ValueError(f"sequence length {x.shape[1]} exceeds the position table")
            positions = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
            return x + self.position_embeddings(positions)
    ```

    ## Fix safety
    The fix is safe. It passes the device to `torch.arange` and removes the
    move: `torch.arange(0, n).expand(N, n).to(x.device)` becomes
    `torch.arange(0, n, device=x.device).expand(N, n)`. `.to(device, dtype)`
    becomes `.to(dtype)` (`non_blocking` and `copy` go, because no copy is
    left), and a statement `x = x.to(device)` is deleted, with a comment line
    directly above it, when it would become `x = x`. `.cuda()` becomes
    `device="cuda"` and `.cuda(k)` for a literal `k` becomes `device="cuda:k"`,
    which name the same device. The indices get the same values, dtype and
    device, so outputs do not change.

    No fix is offered when `.cuda()` gets a device variable or a memory
    format. Nor is one offered when a step between the `arange` and the move
    could combine the indices with a tensor on another device, that is, a
    step other than a shape method (`unsqueeze`, `expand`, `view`, `repeat`,
    a dtype cast, ...) with size arguments or indexing by literals. The
    indices may pass through local names only when no other statement reads
    them and they are assigned on every path, outside `try`. The device must
    be a name or attribute chain that keeps its value from the `arange`
    statement to the move.

    ## Options
    None.
    """

    code = "PEL402"
    name = "positions-built-on-host"
    summary = "Position indices are built on the CPU and then copied to the device"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for function in _functions_run_by_forward(model):
            aranges: Dict[int, CallSite] = {
                id(call.node): call
                for call in function.calls
                if call.qualname == "torch.arange" and syntax.keyword_arg(call.node, "device") is None
            }
            if not aranges:
                continue
            reported: Set[int] = set()
            for call in function.calls:
                if not _is_device_move(model, call):
                    continue
                source = _arange_under(model, function, call.receiver, aranges)
                if source is None or id(source.node) in reported:
                    continue
                reported.add(id(source.node))
                move = "`.cuda()`" if call.method == "cuda" else "`.to()`"
                yield Finding(
                    small_statement(source.statement, source.node),
                    "`torch.arange` builds these position indices on the CPU and "
                    f"{move} then copies them to the device on every call; pass "
                    "`device=` to `torch.arange` instead",
                    device_fix(model, function, source, call),
                )


def _functions_run_by_forward(model: ModuleModel) -> List[FunctionModel]:
    """Return the methods ``forward`` can reach and the module-level functions they call by name.

    Code that runs once, in ``__init__`` or in a rotary-frequency helper that
    the constructor calls, copies its indices once, which costs nothing worth
    reporting.
    """
    found: List[FunctionModel] = []
    seen: Set[int] = set()
    for cls in iter_module_classes(model):
        methods = cls.all_methods()
        for name in sorted(cls.forward_reachable):
            method = methods.get(name)
            if method is None or method.name == "__init__" or id(method) in seen:
                continue
            seen.add(id(method))
            found.append(method)
            for call in method.calls:
                if not isinstance(call.node.func, cst.Name):
                    continue
                helper = model.functions.get(call.node.func.value)
                if helper is not None and id(helper) not in seen:
                    seen.add(id(helper))
                    found.append(helper)
    return found


def _is_device_move(model: ModuleModel, call: CallSite) -> bool:
    if call.receiver is None:
        return False
    if call.method == "cuda":
        return True
    if call.method != "to":
        return False
    keyword = syntax.keyword_arg(call.node, "device")
    if keyword is not None:
        return is_device_expression(model, keyword)
    positional = syntax.positional_args(call.node)
    return bool(positional) and is_device_expression(model, positional[0])


def _arange_under(
    model: ModuleModel,
    function: FunctionModel,
    node: Optional[cst.BaseExpression],
    aranges: Dict[int, CallSite],
) -> Optional[CallSite]:
    """Follow method calls, subscripts and local names down to a device-less ``arange``."""
    for _ in range(16):
        if node is None:
            return None
        if isinstance(node, cst.Name):
            resolved = resolve_local(model, function, node)
            if resolved is node:
                return None
            node = resolved
            continue
        if isinstance(node, cst.Call):
            found = aranges.get(id(node))
            if found is not None:
                return found
            if not isinstance(node.func, cst.Attribute):
                return None
            node = node.func.value
            continue
        if isinstance(node, cst.Subscript):
            node = node.value
            continue
        return None
    return None
