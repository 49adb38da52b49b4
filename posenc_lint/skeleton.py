"""Cut a file down to the top-level code that a rule could report on, before LibCST parses it.

LibCST parses about 0.7 MB a second and the model walk costs as much again,
while most classes in a model file hold no position table. CPython's ``ast``
parses ten times faster, so it finds the top-level classes and functions that
could matter, and every other class or function is replaced by blank lines.
The result keeps the line and column of every character it keeps, so findings
on it are placed exactly as on the whole file.

A class or function is kept when its code names something a rule starts from
(see ``Triggers``). It is also kept when it calls a kept function or inherits
from a kept class, and when a kept definition calls it or inherits from it. Statements other than ``class`` and ``def`` (imports, constants,
``if``/``try`` blocks) are always kept. ``tests/test_skeleton.py`` checks that
the findings on the cut file equal those on the whole file for the fixtures,
the rule examples and the corpus.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from posenc_lint.catalogue import BUILDER_NAME, TABLE_CLASS_NAME

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Python ends a source line at CR LF, LF or CR (``str.splitlines`` also splits
# at form feeds and other characters, which CPython's line numbers do not).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

# Names that rules start from, whatever the table pattern: the trig calls
# of sinusoid tables and rotary caches, and `arange`, which builds position
# indices (PEL402) and marks an attribute looked up by them as a table.
SINUSOID_NAMES = frozenset({"sin", "cos", "sin_", "cos_", "polar", "view_as_complex"})
INDEX_NAMES = frozenset({"arange"})
# PEL504 reads `batch_first=` flags anywhere in the file.
LAYOUT_NAMES = frozenset({"batch_first"})
ALWAYS_TRIGGERING = SINUSOID_NAMES | INDEX_NAMES | LAYOUT_NAMES

# `torch.cat([self.T, build(...)])` grows a table with rows from a builder (PEL506).
CONCATENATIONS = frozenset({"cat", "concat", "concatenate"})

# A name after a dot, or a whole quoted string that is a name.
ATTRIBUTE_OR_QUOTED = re.compile(r"\.[\s\\]*([A-Za-z_][A-Za-z0-9_]*)|[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']")
CLASS_NAME = re.compile(r"\bclass\s+([A-Za-z_][A-Za-z0-9_]*)")

# `self.x.data = ...`, `self.x.resize_()`, `setattr(self, ...)` and new
# Parameters outside `__init__` are what PEL301 reports.
PARAMETER_HOLDERS = frozenset({"Parameter", "Embedding", "register_parameter", "ParameterList"})
# Calls that create, swap or resize a Parameter; `x.data = ...` is matched as an assignment.
PARAMETER_CHANGES = frozenset({"Parameter", "resize_", "register_parameter", "setattr", "set_"})

POSITION_IDS_NAME = re.compile(r"(^|_)pos(ition)?s?_?(ids|idx|index|indices)$", re.IGNORECASE)


class Triggers:
    """Decide, by name, whether a piece of code could start a finding.

    ``names_trigger`` is the coarse test for a whole file. ``definition_triggers``
    looks at where a position-like name appears in one definition. As an
    attribute (`self.pos_embed`), a quoted name (`register_buffer("pe", ...)`)
    or a class name, it can make a position table. Anywhere else (a parameter,
    a local, a keyword argument) it only counts when the definition or its
    in-file bases also name a Parameter or an embedding. A bare name makes a
    table only of an `nn.Embedding` looked up with it, or of a local bound to a
    Parameter. The result for each identifier is cached, because
    the same few thousand names recur across a package.
    """

    def __init__(self, table_pattern: str):
        self.table_pattern = re.compile(table_pattern, re.IGNORECASE)
        self._answers: Dict[str, bool] = {}
        self._table_names: Dict[str, bool] = {}

    def names_trigger(self, names: Iterable[str]) -> bool:
        answers = self._answers
        for name in names:
            answer = answers.get(name)
            if answer is None:
                answer = answers[name] = bool(
                    name in ALWAYS_TRIGGERING
                    or self.is_table_name(name)
                    or TABLE_CLASS_NAME.search(name)
                    or "position" in name.lower()
                )
            if answer:
                return True
        return False

    def is_table_name(self, name: str) -> bool:
        answer = self._table_names.get(name)
        if answer is None:
            answer = self._table_names[name] = bool(
                self.table_pattern.search(name) or POSITION_IDS_NAME.search(name)
            )
        return answer

    def definition_triggers(self, code: str, names: FrozenSet[str]) -> str:
        """Return ``"strong"`` when ``code`` can start a finding alone, ``"weak"``
        when it can only with a Parameter or an embedding in reach, else ``""``."""
        if names & ALWAYS_TRIGGERING:
            return "strong"
        if names & CONCATENATIONS and any(BUILDER_NAME.search(name) for name in names):
            return "strong"
        if not self.names_trigger(names):
            return ""
        for match in ATTRIBUTE_OR_QUOTED.finditer(code):
            if self.is_table_name(match.group(1) or match.group(2)):
                return "strong"
        for match in CLASS_NAME.finditer(code):
            if TABLE_CLASS_NAME.search(match.group(1)):
                return "strong"
        return "weak"


_TRIGGERS: Dict[str, Triggers] = {}


def triggers_for(table_pattern: str) -> Triggers:
    triggers = _TRIGGERS.get(table_pattern)
    if triggers is None:
        triggers = _TRIGGERS[table_pattern] = Triggers(table_pattern)
    return triggers


def could_report(text: str, table_pattern: str) -> bool:
    """Return False only when no rule can report anything on ``text``.

    The sinusoid rules also read NumPy and ``math`` tables. Every other rule
    resolves the calls it looks at to ``torch`` names. So a file that names
    neither torch nor ``sin``/``cos`` has nothing to report, and neither has
    one that names none of the trigger names.
    """
    names = set(IDENTIFIER.findall(text))
    if "torch" not in text:
        return bool(names & SINUSOID_NAMES)
    return (
        triggers_for(table_pattern).names_trigger(names)
        or bool(names & PARAMETER_HOLDERS)
        or bool(names & CONCATENATIONS and any(BUILDER_NAME.search(name) for name in names))
    )


def cut(text: str, table_pattern: str, tree: Optional[ast.Module] = None) -> Optional[str]:
    """Return ``text`` with the classes and functions no rule needs blanked out.

    ``tree`` is ``text`` parsed by ``ast``, when the caller has it. Returns
    ``text`` itself when nothing can be cut, and None when ``ast`` cannot
    parse it (the caller then parses the whole file, which also gives LibCST's
    account of a syntax error).
    """
    if tree is None:
        try:
            with warnings.catch_warnings():
                # Invalid escape sequences warn at parse time; the caller's compile does not care.
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    definitions = [
        node
        for node in tree.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    if not definitions:
        return text
    lines = source_lines(text)
    spans = [_span(node) for node in definitions]
    kept = _kept_definitions(definitions, spans, lines, triggers_for(table_pattern), import_aliases(tree))
    if len(kept) == len(definitions):
        return text
    pieces: List[str] = []
    start = 0
    for index, (first, last) in enumerate(spans):
        if index in kept:
            continue
        pieces.extend(lines[start:first])
        pieces.extend(_line_end(line) for line in lines[first:last])
        start = last
    pieces.extend(lines[start:])
    return "".join(pieces)


def source_lines(text: str) -> List[str]:
    """Split ``text`` into lines where CPython does, keeping the line endings."""
    return _LINE.findall(text)


def first_line(node: ast.stmt) -> int:
    """Return the 1-based line where ``node`` starts, at its first decorator if it has any."""
    first = node.lineno
    for decorator in getattr(node, "decorator_list", ()):
        first = min(first, decorator.lineno)
    return first


def _span(node: ast.stmt) -> Tuple[int, int]:
    """Return the 0-based first line and the line after the last of ``node``, decorators included."""
    return first_line(node) - 1, node.end_lineno or node.lineno


def _line_end(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""


def _kept_definitions(
    definitions: List[ast.stmt],
    spans: List[Tuple[int, int]],
    lines: List[str],
    triggers: Triggers,
    aliases: Dict[str, str],
) -> Set[int]:
    # An alias counts as the name it stands for.
    triggering_aliases = frozenset(
        alias for alias, name in aliases.items() if triggers.names_trigger([name]) or name in PARAMETER_HOLDERS
    )
    change_aliases = frozenset(alias for alias, name in aliases.items() if name in PARAMETER_CHANGES)
    names_in: List[FrozenSet[str]] = []
    strength: List[str] = []
    for node, (first, last) in zip(definitions, spans):
        code = _code_text(node, lines, first, last)
        names = frozenset(IDENTIFIER.findall(code))
        names |= {aliases[name] for name in names & triggering_aliases}
        names_in.append(names)
        strength.append(triggers.definition_triggers(code, names))
    by_name: Dict[str, List[int]] = {}
    for index, node in enumerate(definitions):
        by_name.setdefault(node.name, []).append(index)
    functions = {
        name: [index for index in indices if not isinstance(definitions[index], ast.ClassDef)]
        for name, indices in by_name.items()
    }
    # The in-file functions each definition names (it may call them), and its in-file bases.
    calls: List[Set[int]] = []
    bases: List[Set[int]] = []
    for index, names in enumerate(names_in):
        calls.append({target for name in names & functions.keys() for target in functions[name] if target != index})
        bases.append(_lineage(index, definitions, by_name) - {index})

    def holds_parameters(index: int) -> bool:
        return any(names_in[owner] & PARAMETER_HOLDERS for owner in bases[index] | {index})

    relevant = {
        index
        for index, node in enumerate(definitions)
        if strength[index] == "strong"
        or (strength[index] == "weak" and holds_parameters(index))
        or (_changes_outside_init(node, change_aliases) and holds_parameters(index))
    }
    # A caller of a relevant function may build a table with it, and a
    # subclass of a relevant class inherits its tables and methods.
    changed = True
    while changed:
        changed = False
        for index in range(len(definitions)):
            if index not in relevant and (calls[index] | bases[index]) & relevant:
                relevant.add(index)
                changed = True
    # What a kept definition calls or inherits from is part of its meaning.
    kept = set(relevant)
    pending = list(kept)
    while pending:
        index = pending.pop()
        for target in calls[index] | bases[index]:
            if target not in kept:
                kept.add(target)
                pending.append(target)
    return kept


def _code_text(node: ast.stmt, lines: List[str], first: int, last: int) -> str:
    """Return the lines of a definition without its docstrings and whole-line comments.

    Prose in docstrings names positions all the time without holding a table.
    Docstrings of the definition, of its methods and of the methods of its
    nested classes are dropped. A trailing comment stays, because telling it
    from a `#` inside a string needs a tokenizer.
    """
    skipped: Set[int] = set()
    for owner in _docstring_owners(node):
        body = owner.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                skipped.update(range(body[0].lineno - 1, (body[0].end_lineno or body[0].lineno)))
    kept = []
    for number in range(first, last):
        if number in skipped:
            continue
        line = lines[number]
        if line.lstrip().startswith("#"):
            continue
        kept.append(line)
    return "".join(kept)


def _docstring_owners(node: ast.stmt) -> List[ast.stmt]:
    owners = [node]
    for statement in getattr(node, "body", ()):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            owners.append(statement)
        elif isinstance(statement, ast.ClassDef):
            owners.append(statement)
            owners.extend(
                item for item in statement.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
    return owners


def _lineage(index: int, definitions: List[ast.stmt], by_name: Dict[str, List[int]]) -> Set[int]:
    """Return ``index`` and the in-file classes it inherits from, by base name."""
    found = {index}
    pending = [index]
    while pending:
        node = definitions[pending.pop()]
        for base in getattr(node, "bases", ()):
            name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)
            for target in by_name.get(name, ()):
                if target not in found:
                    found.add(target)
                    pending.append(target)
    return found


def _changes_outside_init(node: ast.stmt, aliases: FrozenSet[str]) -> bool:
    """Whether a class method other than ``__init__`` may change a Parameter (PEL301).

    ``aliases`` are the names the file imports Parameter or the other change
    calls under.
    """
    if not isinstance(node, ast.ClassDef):
        return False
    changes = PARAMETER_CHANGES | aliases
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name != "__init__":
            for sub in ast.walk(statement):
                if isinstance(sub, ast.Name) and sub.id in changes:
                    return True
                if isinstance(sub, ast.Attribute) and sub.attr in changes:
                    return True
                if isinstance(sub, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and _assigns_data(sub):
                    return True
    return False


def _assigns_data(statement: ast.stmt) -> bool:
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Attribute) and sub.attr == "data":
                return True
    return False


def import_aliases(tree: ast.Module) -> Dict[str, str]:
    """Return the local names that top-level imports give to other names, as ``{alias: name}``.

    ``from torch import sin as s`` makes ``s`` a trigger wherever ``sin`` is one.
    """
    aliases: Dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for sub in ast.walk(statement):
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                for alias in sub.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name.rpartition(".")[2]
    return aliases
