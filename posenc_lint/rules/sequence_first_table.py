"""PEL504: a ``(max_len, 1, d)`` table sliced by the batch axis of a batch-first input."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.model import ClassModel, FunctionModel, ModuleModel, iter_module_classes
from posenc_lint.rules import _lengths
from posenc_lint.rules.base import Finding, Rule

BATCH_NAME = re.compile(
    r"^(b|bs|bsz|batch|batch_size|batchsize|n_batch|num_batch|nb)$", re.IGNORECASE
)
SEQUENCE_NAME = re.compile(
    r"^(s|t|l|seq|seqlen|seq_len|seq_length|sequence_length|src_len|tgt_len|length|len"
    r"|time|time_steps|timesteps|n_tokens|num_tokens|n_ctx)$",
    re.IGNORECASE,
)

# A shape written in a docstring: `[seq_len, batch_size, d_model]`, `(B, T, C)`.
SHAPE_IN_TEXT = re.compile(r"[\[(]\s*([A-Za-z_]\w*)\s*,\s*([A-Za-z_]\w*)\s*[,\])]")

# Layers that a position encoding feeds. A `batch_first=True` on an LSTM elsewhere in
# the file is no evidence about the encoder's input.
TRANSFORMER_LAYER = re.compile(r"Transformer|MultiheadAttention|Encoder|Decoder")

# Methods and functions that reorder axes, after which axis 0 may be the sequence.
AXIS_REORDERING = {"transpose", "permute", "movedim", "swapaxes", "swapdims", "t", "rearrange"}


class SequenceFirstTableOnBatchFirstInput(Rule):
    """
    ## What it does
    Reports a position table built as `(max_len, 1, d)` (`torch.zeros(max_len, 1, d)`,
    `pe.unsqueeze(1)` or `pe.unsqueeze(0).transpose(0, 1)`) that `forward`
    slices by `x.size(0)`, `x.shape[0]`, `len(x)` or a name assigned from
    them, when the input is batch-first.

    The input counts as batch-first in three cases. The method names axis 0
    of `x` as the batch (`batch_size, seq_len, _ = x.shape`) or axis 1 as the
    sequence (`seq_len = x.size(1)`). The method's or the class's docstring
    writes the input's shape as `[batch, seq, ...]`. The classes in the file
    that create this module pass `batch_first=True` to a layer, or, with no
    creator in the file, the file passes `batch_first=True` to a transformer
    layer and never passes `batch_first=False`.

    A docstring or a name that says axis 0 is the sequence keeps the rule
    quiet, and so does a class that takes its own `batch_first` option. The
    sequence-first layout of the PyTorch tutorial is correct for
    sequence-first input and is not reported.

    ## Why is this bad?
    On a `(batch, seq, d)` input, `pe[:x.size(0)]` has shape `(batch, 1, d)`:
    it broadcasts one vector per sample over every token, so no token gets its
    own position. Nothing fails while the batch is smaller than `max_len`.

    ## Example
    ```python
    import torch
    from torch import nn


    class LearnedPositions(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(max_len, 1, d_model) * 0.02)

        def forward(self, x):
            batch_size, seq_len, _ = x.shape
            return x + self.pe[: x.size(0)]
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class LearnedPositions(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

        def forward(self, x):
            batch_size, seq_len, _ = x.shape
            if seq_len > self.pe.size(1):
                raise ValueError(f"input has {seq_len} positions, more than the table holds")
            return x + self.pe[:, :seq_len]
    ```

    ## Fix safety
    No fix yet. The planned fix is unsafe: it builds the table as
    `(1, max_len, d)` and slices by `x.size(1)`, which changes the outputs
    and the buffer's shape in saved checkpoints.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL504"
    name = "sequence-first-table-on-batch-first-input"
    summary = "A (max_len, 1, d) table is sliced by the batch axis of a batch-first input"
    default_enabled = False

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for cls in iter_module_classes(model):
            if _takes_batch_first_option(cls):
                continue
            tables = {
                attr
                for attr in _lengths.position_tables(model, cls)
                if any(
                    _lengths.sequence_first_layout(model, write.function, write.value)
                    for write in _lengths.attribute_writes(cls, attr)
                )
            }
            if not tables:
                continue
            methods = cls.all_methods()
            for name in sorted(cls.forward_reachable):
                function = methods.get(name)
                if function is None or function.self_name is None:
                    continue
                yield from _batch_axis_slices(model, cls, function, tables)


def _batch_axis_slices(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, tables: Set[str]
) -> Iterator[Finding]:
    for site in function.subscripts:
        attr = _lengths.table_attribute(function, site.node.value)
        if attr not in tables:
            continue
        for position, element in _lengths.leading_positions(site.node):
            if position != 0 or not isinstance(element, cst.Slice) or element.upper is None:
                continue
            length = _lengths.runtime_length(model, function, element.upper)
            if length is None or length.axis not in (0, None):
                continue
            if not re.fullmatch(r"\w+", length.receiver):
                continue
            if _reordered_before(function, length.receiver, model.order_of(site.node)):
                continue
            evidence = _batch_first_evidence(model, cls, function, length.receiver)
            if evidence is None:
                continue
            yield Finding(
                _lengths.statement_anchor(site.statement, site.node),
                f"position table `{attr}` has shape (max_len, 1, d) and is sliced by "
                f"`{length.describe()}`, but `{length.receiver}` is batch-first ({evidence}), "
                "so every token of a sample gets the same vector; build the table as "
                f"(1, max_len, d) and slice it by `{length.receiver}.size(1)`",
            )


def _takes_batch_first_option(cls: ClassModel) -> bool:
    """Return whether the class handles both layouts through its own ``batch_first`` option."""
    if any(write.attr == "batch_first" for write in cls.writes):
        return True
    return any("batch_first" in function.params for function in cls.all_methods().values())


def _reordered_before(function: FunctionModel, receiver: str, order: int) -> bool:
    """Return whether ``receiver`` is reassigned from a transpose or permute before ``order``."""
    for assignment in function.local_assignments(receiver):
        if order >= 0 and assignment.order > order:
            continue
        if assignment.value is None:
            continue
        for sub in syntax.walk(assignment.value):
            if isinstance(sub, cst.Call) and syntax.last_name(sub.func) in AXIS_REORDERING:
                return True
            if isinstance(sub, cst.Attribute) and sub.attr.value in ("T", "mT"):
                return True
    return False


def _batch_first_evidence(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, receiver: str
) -> Optional[str]:
    """Return why ``receiver`` looks batch-first, or None when unknown or sequence-first."""
    from_names = _layout_from_names(function, receiver)
    if from_names == "sequence":
        return None
    from_text = _layout_from_docstrings(cls, function)
    if from_text == "sequence":
        return None
    if from_names == "batch":
        return "the method names its axes that way"
    if from_text == "batch":
        return "the docstring gives its shape that way"
    return _file_evidence(model, cls)


def _layout_from_names(function: FunctionModel, receiver: str) -> Optional[str]:
    """Return "batch" or "sequence" for what the method calls axis 0 of ``receiver``."""
    verdicts = set()
    for assignment in function.assignments:
        for target in assignment.targets:
            if isinstance(target, cst.Name):
                lengths = {target.value: _lengths.length_of(assignment.value)}
            else:
                lengths = _lengths.unpacked_lengths(target, assignment.value)
            for name, length in lengths.items():
                if length is None or length.receiver != receiver:
                    continue
                if length.axis == 0 and BATCH_NAME.match(name):
                    verdicts.add("batch")
                elif length.axis == 0 and SEQUENCE_NAME.match(name):
                    verdicts.add("sequence")
                elif length.axis == 1 and SEQUENCE_NAME.match(name):
                    verdicts.add("batch")
                elif length.axis == 1 and BATCH_NAME.match(name):
                    verdicts.add("sequence")
    return _strictest(verdicts)


def _layout_from_docstrings(cls: ClassModel, function: FunctionModel) -> Optional[str]:
    texts: List[str] = []
    for node in (function.node, cls.node):
        docstring = node.get_docstring()
        if docstring:
            texts.append(docstring)
    verdicts = set()
    for text in texts:
        for first, second in SHAPE_IN_TEXT.findall(text):
            if BATCH_NAME.match(first) and SEQUENCE_NAME.match(second):
                verdicts.add("batch")
            elif SEQUENCE_NAME.match(first) and BATCH_NAME.match(second):
                verdicts.add("sequence")
    return _strictest(verdicts)


def _strictest(verdicts: Set[str]) -> Optional[str]:
    """Prefer "sequence": one sequence-first hint keeps the rule quiet."""
    if "sequence" in verdicts:
        return "sequence"
    if "batch" in verdicts:
        return "batch"
    return None


def _file_evidence(model: ModuleModel, cls: ClassModel) -> Optional[str]:
    if False in _batch_first_flags(model.module):
        return None
    creators = [
        other
        for other in model.classes
        if other is not cls
        and any(
            syntax.last_name(call.node.func) == cls.name
            for function in other.methods.values()
            for call in function.calls
        )
    ]
    if creators:
        for creator in creators:
            if True in _batch_first_flags(creator.node):
                return f"`{creator.name}`, which creates it, passes `batch_first=True`"
        return None
    if True in _batch_first_flags(model.module, TRANSFORMER_LAYER):
        return "this file passes `batch_first=True` to a transformer layer"
    return None


def _batch_first_flags(
    node: cst.CSTNode, callee: Optional["re.Pattern[str]"] = None
) -> Set[bool]:
    """Return the literal values passed as ``batch_first=`` under ``node``.

    With ``callee``, only calls whose function name matches it count.
    """
    flags: Set[bool] = set()
    for sub in syntax.walk(node):
        if not isinstance(sub, cst.Call):
            continue
        if callee is not None and not callee.search(syntax.last_name(sub.func) or ""):
            continue
        value = syntax.keyword_arg(sub, "batch_first")
        if isinstance(value, cst.Name) and value.value in ("True", "False"):
            flags.add(value.value == "True")
    return flags
