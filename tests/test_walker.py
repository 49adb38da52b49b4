"""The model's own traversal visits the nodes LibCST's would, in the same order."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import libcst as cst
import pytest

from posenc_lint import walker
from posenc_lint.syntax import TRIVIA

ROOT = Path(__file__).resolve().parent.parent


def libcst_visit_order(node_type: type):
    """Read the order of the fields from LibCST's own ``_visit_and_replace_children``."""
    source = inspect.getsource(node_type._visit_and_replace_children)
    order = []
    for match in re.finditer(r'visit_\w+\(\s*self,\s*"(\w+)"', source):
        if match.group(1) not in order:
            order.append(match.group(1))
    return order


NODE_TYPES = [
    node_type
    for node_type in vars(cst).values()
    if isinstance(node_type, type)
    and issubclass(node_type, cst.CSTNode)
    and dataclasses.is_dataclass(node_type)
    and not inspect.isabstract(node_type)
    and "_visit_and_replace_children" in vars(node_type)
]


@pytest.mark.parametrize("node_type", NODE_TYPES, ids=lambda node_type: node_type.__name__)
def test_field_order_matches_libcst(node_type):
    theirs = libcst_visit_order(node_type)
    ours = [name for name in walker.visited_fields(node_type) if name in theirs]
    assert ours == [name for name in theirs if name in ours]


class Recorder(cst.CSTVisitor):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_visit(self, node):
        if not isinstance(node, TRIVIA):
            self.events.append(("visit", type(node).__name__, id(node)))
        return True

    def on_leave(self, original_node):
        if not isinstance(original_node, TRIVIA):
            self.events.append(("leave", type(original_node).__name__, id(original_node)))


class DrivenRecorder(cst.CSTVisitor):
    """Records through ``visit_``/``leave_`` methods, which is what ``walker.drive`` calls."""

    def __init__(self, types):
        super().__init__()
        self.events = []
        for name in types:
            setattr(self, "visit_" + name, self._visitor(name))
            setattr(self, "leave_" + name, self._leaver(name))

    def _visitor(self, name):
        return lambda node: self.events.append(("visit", name, id(node)))

    def _leaver(self, name):
        return lambda node: self.events.append(("leave", name, id(node)))


SOURCES = sorted((ROOT / "fixtures").rglob("*.py"))[:12] + [ROOT / "posenc_lint" / "model.py"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_drive_visits_like_libcst(path):
    module = cst.parse_module(path.read_bytes())
    expected = Recorder()
    module.visit(expected)
    # Tokens that are not trivia (`.`, `:`, `async`) are not visited by drive.
    kinds = {name for _, name, _ in expected.events}
    driven = DrivenRecorder(kinds)

    walker.drive(driven, module)

    visited = {(name, node_id) for _, name, node_id in driven.events}
    comparable = [event for event in expected.events if (event[1], event[2]) in visited]
    assert driven.events == comparable
    meaningful = {"Name", "Call", "Assign", "FunctionDef", "ClassDef", "Subscript", "Attribute"}
    assert {name for name in kinds & meaningful} <= {name for _, name, _ in driven.events}


def test_drive_handles_nesting_past_the_recursion_limit():
    depth = 3000
    module = cst.parse_module("x = " + "-" * depth + "1\n")
    driven = DrivenRecorder({"UnaryOperation"})

    walker.drive(driven, module)

    assert len(driven.events) == 2 * depth


def test_visit_returning_false_skips_children():
    class SkipCalls(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.names = []

        def visit_Call(self, node):
            return False

        def visit_Name(self, node):
            self.names.append(node.value)

    visitor = SkipCalls()
    walker.drive(visitor, cst.parse_module("a = f(b)\nc = d\n"))
    assert visitor.names == ["a", "c", "d"]
