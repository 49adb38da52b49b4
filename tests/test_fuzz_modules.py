"""Property tests on generated `nn.Module` files: the linter never crashes and fixing never corrupts.

Each example starts from a rule's documented examples or a fixture and applies
a few mutations that keep it valid Python. They rename attributes, alias
imports, nest classes, add decorators, make `forward` async, build tables in
helper functions and change the layout of statements. The file is then written
with one of several line endings, indentations and encodings. For every
example:

- linting reports no internal error (PEL902), and the same findings with and
  without the engine's cut of the file;
- `--fix --unsafe-fixes` is applied or leaves the file as it was, the fixed
  file parses, and a second fix changes nothing;
- a file without findings keeps its bytes, and a fixed file keeps its line
  endings, byte order mark and encoding.

The example counts scale with the Hypothesis profile (see conftest.py).
"""

from __future__ import annotations

import ast
import codecs
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import libcst as cst
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from posenc_lint import engine
from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source
from posenc_lint.rules import ALL_RULES

REPO = Path(__file__).resolve().parent.parent
ALL_SELECTED = Settings(select=validate_selectors(["PEL"]))
DEFAULT_RULES = Settings()


def _seed_sources() -> List[Tuple[str, str]]:
    """Return (label, source) for every documented rule example and every fixture."""
    seeds = []
    for rule in ALL_RULES:
        if getattr(rule, "file_level", False):
            continue
        for section in ("Example", "Use instead"):
            for index, block in enumerate(rule.code_blocks(section)):
                seeds.append((f"{rule.code} {section} {index}", block + "\n"))
    for path in sorted((REPO / "fixtures").rglob("*.py")):
        seeds.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
    return seeds


SEEDS = _seed_sources()


# --- Mutations: each takes a source and a draw function and returns valid Python ---


Draw = Callable[[st.SearchStrategy], object]


class _Renamer(cst.CSTTransformer):
    """Rename attribute ``old`` (``x.old`` and the strings ``"old"``) to ``new``."""

    def __init__(self, old: str, new: str):
        super().__init__()
        self.old = old
        self.new = new

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        if updated_node.attr.value == self.old:
            return updated_node.with_changes(attr=cst.Name(self.new))
        return updated_node

    def leave_SimpleString(self, original_node: cst.SimpleString, updated_node: cst.SimpleString) -> cst.SimpleString:
        if updated_node.evaluated_value == self.old:
            quote = updated_node.value[-1]
            return updated_node.with_changes(value=f"{quote}{self.new}{quote}")
        return updated_node


NEW_ATTRIBUTE_NAMES = ["pos_table", "wpe", "posenc", "abs_pos_embed", "table", "P", "weight_cache", "pos_emb_2d"]


def rename_attribute(source: str, draw: Draw) -> str:
    module = cst.parse_module(source)
    names = sorted(set(re.findall(r"\bself\.([A-Za-z_]\w*)\b", source)) - {"register_buffer", "register_parameter"})
    if not names:
        return source
    old = draw(st.sampled_from(names))
    new = draw(st.sampled_from(NEW_ATTRIBUTE_NAMES))
    if re.search(rf"\b{new}\b", source):
        return source
    return module.visit(_Renamer(old, new)).code


class _NameAliaser(cst.CSTTransformer):
    """Rename the plain name ``old`` to ``new`` outside import statements and attribute names."""

    def __init__(self, old: str, new: str):
        super().__init__()
        self.old = old
        self.new = new
        self.excluded: set = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.excluded.add(id(node.attr))

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.excluded.add(id(node.keyword))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.old and id(original_node) not in self.excluded:
            return updated_node.with_changes(value=self.new)
        return updated_node


def _alias_import(source: str, name: str, alias: str) -> str:
    """Give the import of ``name`` the alias ``alias`` and use it everywhere."""
    lines = source.splitlines(keepends=True)
    patterns = [
        (re.compile(rf"^import {name}(\s*(?:#.*)?)$"), f"import {name} as {alias}"),
        (re.compile(rf"^from torch import {name}(\s*(?:#.*)?)$"), f"from torch import {name} as {alias}"),
        (re.compile(rf"^import torch\.{name} as {name}(\s*(?:#.*)?)$"), f"import torch.{name} as {alias}"),
    ]
    changed = False
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        for pattern, replacement in patterns:
            match = pattern.match(body)
            if match:
                lines[index] = replacement + match.group(1) + ending
                changed = True
                break
    if not changed:
        return source
    module = cst.parse_module("".join(lines))
    return module.visit(_NameAliaser(name, alias)).code


def alias_torch(source: str, draw: Draw) -> str:
    if re.search(r"\bT\b", source):
        return source
    return _alias_import(source, "torch", draw(st.sampled_from(["T", "pt", "th"])))


def alias_nn(source: str, draw: Draw) -> str:
    if re.search(r"\btnn\b", source):
        return source
    return _alias_import(source, "nn", draw(st.sampled_from(["tnn", "layers"])))


def nn_from_module_import(source: str, draw: Draw) -> str:
    """Turn ``from torch import nn`` into ``import torch.nn as nn``."""
    return re.sub(r"(?m)^from torch import nn$", "import torch.nn as nn", source)


def _map_top_level_classes(source: str, wrap: Callable[[cst.ClassDef], cst.BaseStatement]) -> str:
    module = cst.parse_module(source)
    body = [wrap(statement) if isinstance(statement, cst.ClassDef) else statement for statement in module.body]
    return module.with_changes(body=body).code


def nest_in_class(source: str, draw: Draw) -> str:
    def wrap(node: cst.ClassDef) -> cst.BaseStatement:
        return cst.ClassDef(name=cst.Name(f"Outer{node.name.value}"), body=cst.IndentedBlock(body=[node]))

    return _map_top_level_classes(source, wrap)


def nest_in_function(source: str, draw: Draw) -> str:
    def wrap(node: cst.ClassDef) -> cst.BaseStatement:
        ret = cst.SimpleStatementLine(body=[cst.Return(value=cst.Name(node.name.value))])
        return cst.FunctionDef(
            name=cst.Name(f"make_{node.name.value.lower()}"),
            params=cst.Parameters(),
            body=cst.IndentedBlock(body=[node, ret]),
        )

    return _map_top_level_classes(source, wrap)


class _MethodDecorator(cst.CSTTransformer):
    def __init__(self, method: str, decorator: str, make_async: bool = False):
        super().__init__()
        self.method = method
        self.decorator = decorator
        self.make_async = make_async

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if updated_node.name.value != self.method:
            return updated_node
        if self.make_async:
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        decorator = cst.Decorator(decorator=cst.parse_expression(self.decorator))
        return updated_node.with_changes(decorators=[decorator, *updated_node.decorators])


def decorate_method(source: str, draw: Draw) -> str:
    method = draw(st.sampled_from(["forward", "__init__", "init_weights", "_build"]))
    decorator = draw(st.sampled_from(["torch.no_grad()", "torch.jit.ignore", "functools.lru_cache()", "registry.register('x')"]))
    return cst.parse_module(source).visit(_MethodDecorator(method, decorator)).code


def decorate_class(source: str, draw: Draw) -> str:
    decorator = draw(st.sampled_from(["dataclass", "registry.register_model", "torch.jit.script"]))

    def wrap(node: cst.ClassDef) -> cst.BaseStatement:
        return node.with_changes(decorators=[cst.Decorator(decorator=cst.parse_expression(decorator)), *node.decorators])

    return _map_top_level_classes(source, wrap)


def async_forward(source: str, draw: Draw) -> str:
    return cst.parse_module(source).visit(_MethodDecorator("forward", "", make_async=True)).code


class _HelperBuilder(cst.CSTTransformer):
    """Move the value of ``self.X = value`` in ``__init__`` into a nested helper function."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index
        self.seen = 0
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.depth -= 1
        if updated_node.name.value != "__init__" or not isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node
        statements: List[cst.BaseStatement] = []
        for statement in updated_node.body.body:
            moved = self._move(statement)
            statements.extend(moved)
        return updated_node.with_changes(body=updated_node.body.with_changes(body=statements))

    def _move(self, statement: cst.BaseStatement) -> List[cst.BaseStatement]:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return [statement]
        assign = statement.body[0]
        if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
            return [statement]
        target = assign.targets[0].target
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and isinstance(assign.value, cst.Call)):
            return [statement]
        self.seen += 1
        if self.seen - 1 != self.index:
            return [statement]
        helper = f"_build_{target.attr.value}"
        function = cst.FunctionDef(
            name=cst.Name(helper),
            params=cst.Parameters(),
            body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Return(value=assign.value)])]),
        )
        call = cst.Call(func=cst.Name(helper))
        return [function, statement.with_changes(body=[assign.with_changes(value=call)])]


def table_in_nested_helper(source: str, draw: Draw) -> str:
    index = draw(st.sampled_from(range(4)))
    return cst.parse_module(source).visit(_HelperBuilder(index)).code


def table_in_module_helper(source: str, draw: Draw) -> str:
    """Move a ``torch.zeros``/``randn``/``empty`` table creation into a module-level helper with the sizes as parameters."""
    match = re.search(r"(?m)^( +)(self\.\w+) = nn\.Parameter\((torch\.(?:zeros|randn|empty|ones)\(([^()]*)\))", source)
    if match is None:
        return source
    indent, target, creation, sizes = match.groups()
    arguments = [part.strip() for part in sizes.split(",") if part.strip()]
    if not arguments or any(not re.fullmatch(r"[\w.]+(?: \* [\w.]+)?", argument) for argument in arguments):
        return source
    parameters = ", ".join(f"size{index}" for index in range(len(arguments)))
    factory = creation.split("(")[0]
    helper = f"\n\ndef make_table({parameters}):\n    return {factory}({parameters})\n"
    replaced = source[: match.start(3)] + f"make_table({', '.join(arguments)})" + source[match.end(3):]
    if "def make_table(" in source:
        return source
    return replaced.rstrip("\n") + "\n" + helper


def duplicate_class(source: str, draw: Draw) -> str:
    module = cst.parse_module(source)
    classes = [statement for statement in module.body if isinstance(statement, cst.ClassDef)]
    if not classes:
        return source
    copy = classes[0].with_changes(name=cst.Name(classes[0].name.value + "Copy"))
    return module.with_changes(body=[*module.body, copy]).code


def add_comments(source: str, draw: Draw) -> str:
    comment = draw(st.sampled_from(["  # keep", "  # noqa: E501", "  # type: ignore", "  # é ünïcode"]))
    lines = source.splitlines(keepends=True)
    out = []
    for line in lines:
        body = line.rstrip("\r\n")
        if body.strip() and not body.rstrip().endswith(("\\", ",", "(", "[", "{")) and '"""' not in body and "'''" not in body:
            out.append(body + comment + line[len(body):])
        else:
            out.append(line)
    result = "".join(out)
    try:
        compile(result, "<mutated>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError:
        return source
    return result


def blank_lines_and_form_feed(source: str, draw: Draw) -> str:
    separator = draw(st.sampled_from(["\n\n", "\x0c\n", "# section\n\n"]))
    return re.sub(r"(?m)^(class |def )", lambda match: separator + match.group(1), source, count=2)


class _Semicolons(cst.CSTTransformer):
    """Join each pair of consecutive one-statement lines of a block into one line with `;`."""

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        body: List[cst.BaseStatement] = []
        for statement in updated_node.body:
            previous = body[-1] if body else None
            if (
                isinstance(statement, cst.SimpleStatementLine)
                and isinstance(previous, cst.SimpleStatementLine)
                and not statement.leading_lines
                and previous.trailing_whitespace.comment is None
                and len(previous.body) == 1
            ):
                body[-1] = previous.with_changes(body=[*previous.body, *statement.body])
                continue
            body.append(statement)
        return updated_node.with_changes(body=body)


def semicolons(source: str, draw: Draw) -> str:
    return cst.parse_module(source).visit(_Semicolons()).code


class _OneLineSuites(cst.CSTTransformer):
    """Write a function or `if` whose body is one simple line on the header's line."""

    def _collapse(self, node):
        body = node.body
        if (
            isinstance(body, cst.IndentedBlock)
            and len(body.body) == 1
            and isinstance(body.body[0], cst.SimpleStatementLine)
            and not body.body[0].leading_lines
            and body.header.comment is None
        ):
            line = body.body[0]
            return node.with_changes(body=cst.SimpleStatementSuite(body=line.body, trailing_whitespace=line.trailing_whitespace))
        return node

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        return self._collapse(updated_node)

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        return self._collapse(updated_node) if updated_node.orelse is None else updated_node


def one_line_suites(source: str, draw: Draw) -> str:
    return cst.parse_module(source).visit(_OneLineSuites()).code


def annotate_attributes(source: str, draw: Draw) -> str:
    """Turn ``self.x = nn.Parameter(...)`` into an annotated assignment."""
    annotation = draw(st.sampled_from(["nn.Parameter", "torch.Tensor", "'Tensor'"]))
    return re.sub(r"(?m)^( +self\.\w+) = (nn\.Parameter\()", rf"\1: {annotation} = \2", source)


def backslash_continuation(source: str, draw: Draw) -> str:
    return re.sub(r"(?m)^( +)(self\.\w+) = (nn\.Parameter\(|torch\.)", lambda match: f"{match.group(1)}{match.group(2)} = \\\n{match.group(1)}    {match.group(3)}", source)


class _WrapInit(cst.CSTTransformer):
    """Put the statements of ``__init__`` after the first into an ``if``, ``with`` or ``try`` block."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if updated_node.name.value != "__init__" or not isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node
        statements = list(updated_node.body.body)
        if len(statements) < 2:
            return updated_node
        inner = cst.IndentedBlock(body=statements[1:])
        if self.kind == "if":
            block = cst.If(test=cst.Name("True"), body=inner)
        elif self.kind == "with":
            block = cst.With(items=[cst.WithItem(item=cst.parse_expression("torch.no_grad()"))], body=inner)
        else:
            handler = cst.ExceptHandler(
                body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Raise()])]),
                type=cst.Name("RuntimeError"),
            )
            block = cst.Try(body=inner, handlers=[handler])
        return updated_node.with_changes(body=updated_node.body.with_changes(body=[statements[0], block]))


def wrap_init_body(source: str, draw: Draw) -> str:
    kind = draw(st.sampled_from(["if", "with", "try"]))
    return cst.parse_module(source).visit(_WrapInit(kind)).code


def getattr_reads(source: str, draw: Draw) -> str:
    """Read ``self.name`` in ``forward`` through ``getattr(self, "name")``."""
    match = re.search(r"(?ms)^( +)def forward\(self[^\n]*\n(.*?)(?=^\1def |\Z)", source)
    if match is None:
        return source
    body = re.sub(r"\bself\.(\w+)\b(?!\s*=[^=])", r'getattr(self, "\1")', match.group(2))
    return _if_valid(source[: match.start(2)] + body + source[match.end(2):], source)


def _if_valid(mutated: str, source: str) -> str:
    """Return ``mutated`` when it parses, else ``source``: a text edit can break an f-string."""
    try:
        compile(mutated, "<mutated>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError:
        return source
    return mutated


MUTATIONS: Dict[str, Callable[[str, Draw], str]] = {
    "rename_attribute": rename_attribute,
    "alias_torch": alias_torch,
    "alias_nn": alias_nn,
    "nn_from_module_import": nn_from_module_import,
    "nest_in_class": nest_in_class,
    "nest_in_function": nest_in_function,
    "decorate_method": decorate_method,
    "decorate_class": decorate_class,
    "async_forward": async_forward,
    "table_in_nested_helper": table_in_nested_helper,
    "table_in_module_helper": table_in_module_helper,
    "duplicate_class": duplicate_class,
    "add_comments": add_comments,
    "blank_lines_and_form_feed": blank_lines_and_form_feed,
    "semicolons": semicolons,
    "one_line_suites": one_line_suites,
    "annotate_attributes": annotate_attributes,
    "backslash_continuation": backslash_continuation,
    "wrap_init_body": wrap_init_body,
    "getattr_reads": getattr_reads,
}


# --- Encodings of the mutated text ---------------------------------------------------

LAYOUTS = ["lf", "crlf", "tabs", "bom", "latin-1", "no-final-newline"]


def encode(text: str, layout: str) -> bytes:
    """Return ``text`` as the bytes of a file with the given layout."""
    if layout == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    if layout == "tabs":
        return _tabs(text).encode("utf-8")
    if layout == "bom":
        return codecs.BOM_UTF8 + text.encode("utf-8")
    if layout == "latin-1":
        declared = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + text
        return declared.encode("latin-1", "replace")
    if layout == "no-final-newline":
        return text.rstrip("\n").encode("utf-8")
    return text.encode("utf-8")


def _tabs(text: str) -> str:
    """Indent with one tab a level, outside of bracketed continuation lines."""
    lines = []
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip(" ")
        spaces = len(line) - len(stripped)
        if spaces % 4 == 0:
            lines.append("\t" * (spaces // 4) + stripped)
        else:
            lines.append(line)
    result = "".join(lines)
    try:
        compile(result, "<tabs>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError:
        return text
    return result


@st.composite
def generated_modules(draw) -> Tuple[str, bytes, str]:
    """Draw (description, file bytes, layout) for a mutated seed."""
    label, source = draw(st.sampled_from(SEEDS))
    names = draw(st.lists(st.sampled_from(sorted(MUTATIONS)), max_size=4))
    applied = []
    for name in names:
        mutated = MUTATIONS[name](source, draw)
        if mutated != source:
            source = mutated
            applied.append(name)
    layout = draw(st.sampled_from(LAYOUTS))
    for name in applied:
        event(f"mutation: {name}")
    return f"{label} + {applied} as {layout}", encode(source, layout), layout


# --- Checks --------------------------------------------------------------------------


def compile_problem(data: bytes) -> Optional[str]:
    try:
        compile(data, "<fixed>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return f"{error.msg} on line {error.lineno}"
    return None


def line_endings(data: bytes) -> set:
    endings = set()
    if b"\r\n" in data:
        endings.add("crlf")
    if re.search(rb"(?<!\r)\n", data):
        endings.add("lf")
    return endings


def libcst_reproduces(data: bytes) -> bool:
    """Return whether LibCST writes back the bytes it parsed.

    It drops a form feed that starts a file and the space in `except X :`, for
    two, and the fixer then rejects the file rather than change code that no
    fix touches.
    """
    return cst.parse_module(data).bytes == data


def internal_errors(diagnostics: Sequence) -> List[str]:
    return [diagnostic.message for diagnostic in diagnostics if diagnostic.code == "PEL902"]


def scaled(fraction: float) -> int:
    """Return ``fraction`` of the profile's example count, at least 5."""
    return max(5, int(settings.default.max_examples * fraction))


@settings(max_examples=scaled(1.0))
@given(example=generated_modules())
def test_generated_module_lints_without_internal_error(example):
    description, data, _ = example
    note(description)

    result = lint_source(data, "generated.py", ALL_SELECTED)

    assert internal_errors(result.diagnostics) == []


@settings(max_examples=scaled(0.5))
@given(example=generated_modules())
def test_generated_module_same_findings_with_and_without_cut(example, monkeypatch_module):
    description, data, _ = example
    note(description)

    cut = lint_source(data, "generated.py", DEFAULT_RULES)
    monkeypatch_module.setattr(engine, "CUT_FILES", False)
    whole = lint_source(data, "generated.py", DEFAULT_RULES)
    monkeypatch_module.setattr(engine, "CUT_FILES", True)

    assert cut.diagnostics == whole.diagnostics


@settings(max_examples=scaled(1.0))
@given(example=generated_modules())
def test_generated_module_fix_is_sound(example):
    description, data, layout = example
    note(description)

    initial = lint_source(data, "generated.py", ALL_SELECTED)
    outcome = fix_source(data, "generated.py", ALL_SELECTED, unsafe=True)

    assert internal_errors(outcome.result.diagnostics) == []
    if outcome.error is not None:
        event("fix: rejected, LibCST cannot reproduce the file")
        assert not libcst_reproduces(data), outcome.error
        assert outcome.source == data
        return
    if not initial.diagnostics:
        event("fix: no findings")
        assert outcome.source == data, "a file without findings changed"
        return
    if not outcome.changed:
        event("fix: findings, nothing fixed")
        return
    event("fix: rewritten")
    note(outcome.source.decode("latin-1"))
    assert compile_problem(outcome.source) is None or compile_problem(data) is not None
    assert line_endings(outcome.source) <= line_endings(data) or not line_endings(data)
    assert outcome.source.startswith(codecs.BOM_UTF8) == data.startswith(codecs.BOM_UTF8)
    if layout == "latin-1":
        assert outcome.source.startswith(b"# -*- coding: latin-1 -*-\n")

    again = fix_source(outcome.source, "generated.py", ALL_SELECTED, unsafe=True)
    assert again.error is None, again.error
    assert again.source == outcome.source, "a second fix changed the file again"


@settings(max_examples=scaled(0.25))
@given(example=generated_modules())
def test_generated_module_safe_fix_is_sound(example):
    description, data, _ = example
    note(description)

    outcome = fix_source(data, "generated.py", ALL_SELECTED, unsafe=False)

    assert outcome.error is None or not libcst_reproduces(data), outcome.error
    if outcome.changed:
        assert compile_problem(outcome.source) is None or compile_problem(data) is not None
        again = fix_source(outcome.source, "generated.py", ALL_SELECTED, unsafe=False)
        assert again.source == outcome.source, "a second safe fix changed the file again"


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _first_choice(strategy: st.SearchStrategy) -> object:
    """Return the first element of a ``sampled_from`` strategy, for drawing outside Hypothesis."""
    return list(strategy.elements)[0]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_every_mutation_applies_to_some_seed(name):
    applied = 0
    for _, source in SEEDS:
        mutated = MUTATIONS[name](source, _first_choice)
        if mutated != source:
            compile(mutated, "<mutated>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            applied += 1

    assert applied > 0, f"mutation {name} changes no seed"
