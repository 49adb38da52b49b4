"""Rewrites that rules attach to findings, and their application to a module.

A rule describes a fix as node replacements in the tree it was given. The
engine applies every compatible fix of one pass with a single transformer, so
LibCST regenerates the file and every untouched byte stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Set, Tuple, Union

import libcst as cst

from posenc_lint import syntax
from posenc_lint.diagnostics import Applicability

Replacement = Union[cst.CSTNode, cst.FlattenSentinel, cst.RemovalSentinel]


@dataclass(frozen=True)
class NodeEdit:
    """Replace ``target`` (by identity) with ``replacement``."""

    target: cst.CSTNode
    replacement: Replacement


@dataclass(frozen=True)
class FixPlan:
    """A fix as a rule builds it: what it does, how safe it is, and its edits."""

    message: str
    applicability: Applicability
    edits: Tuple[NodeEdit, ...]

    @property
    def is_safe(self) -> bool:
        return self.applicability is Applicability.SAFE


def safe_fix(message: str, *edits: NodeEdit) -> FixPlan:
    return FixPlan(message, Applicability.SAFE, tuple(edits))


def unsafe_fix(message: str, *edits: NodeEdit) -> FixPlan:
    return FixPlan(message, Applicability.UNSAFE, tuple(edits))


def insert_after(statement: cst.BaseStatement, *new: cst.BaseStatement) -> NodeEdit:
    """Insert statements after ``statement`` in its block."""
    return NodeEdit(statement, cst.FlattenSentinel([statement, *new]))


def insert_before(statement: cst.BaseStatement, *new: cst.BaseStatement) -> NodeEdit:
    """Insert statements before ``statement`` (and above its leading comments)."""
    return NodeEdit(statement, cst.FlattenSentinel([*new, statement]))


def parse_statement(code: str, like: cst.Module) -> cst.BaseStatement:
    """Parse one statement with the module's indentation and newline style."""
    return cst.parse_statement(code, config=like.config_for_parsing)


def parse_expression(code: str, like: cst.Module) -> cst.BaseExpression:
    return cst.parse_expression(code, config=like.config_for_parsing)


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: Dict[int, Replacement]):
        super().__init__()
        self.replacements = replacements
        self.applied: Set[int] = set()

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        replacement = self.replacements.get(id(original_node))
        if replacement is None:
            return updated_node
        self.applied.add(id(original_node))
        return replacement


def select_compatible(plans: Sequence[FixPlan]) -> List[FixPlan]:
    """Return the plans whose edits do not overlap an earlier plan's edits.

    Two edits overlap when one target contains the other; such plans wait for
    the next pass, which sees the tree the first one produced.
    """
    chosen: List[FixPlan] = []
    covered: Set[int] = set()
    roots: Set[int] = set()
    for plan in plans:
        subtree_ids: Set[int] = set()
        targets = [id(edit.target) for edit in plan.edits]
        for edit in plan.edits:
            subtree_ids.update(id(node) for node in syntax.walk(edit.target))
        if subtree_ids & covered or any(target in covered for target in targets):
            continue
        if roots & subtree_ids:
            continue
        chosen.append(plan)
        covered |= subtree_ids
        roots.update(targets)
    return chosen


def apply_plans(module: cst.Module, plans: Sequence[FixPlan]) -> Tuple[cst.Module, int]:
    """Apply ``plans`` to ``module`` and return the new module and how many applied."""
    replacements: Dict[int, Replacement] = {}
    for plan in plans:
        for edit in plan.edits:
            replacements[id(edit.target)] = edit.replacement
    if not replacements:
        return module, 0
    replacer = _Replacer(replacements)
    updated = module.visit(replacer)
    applied = sum(
        1 for plan in plans if all(id(edit.target) in replacer.applied for edit in plan.edits)
    )
    return updated, applied
