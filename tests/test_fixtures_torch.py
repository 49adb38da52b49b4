"""Run every fixture pair, `fixtures/<folder>/<case>.py` and `<case>.fixed.py`, under torch.

Each pair is checked in two ways. The command line must turn a copy of the
original into the expected file byte for byte, and a second `--fix` must change
nothing. Then both modules are imported by path and run: a safe fix keeps the
outputs and loads the old `state_dict` with `strict=True`, and every fixed module
keeps its tables registered, its Parameters in place, compiles with
`fullgraph=True`, and raises `ValueError` past `MAX_LEN` when the fixture sets it.

A folder named after a rule code (`PEL303`) is fixed with `--select` that code;
any other folder (`design`) with every rule selected and `--unsafe-fixes`. A
pair gets `--unsafe-fixes` when the rule reports an unsafe fix on the original.

The contract each fixture file follows, identically in both files of a pair:
`build()` returns a fresh module (torch is seeded before each call),
`example_input(seq_len)` returns the tuple of forward arguments, `LENGTHS` lists
accepted sequence lengths in ascending order, optional `MAX_LEN` is the fixed
module's maximum length, and `check_change(old, new)` asserts what an unsafe fix
changes on purpose.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import importlib.util
import io
import re
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Tuple

import pytest

from posenc_lint import cli
from posenc_lint.config import Settings, validate_selectors
from posenc_lint.diagnostics import Applicability
from posenc_lint.engine import lint_source

try:
    with warnings.catch_warnings():
        # torch warns at import when NumPy is missing; the fixtures do not use NumPy.
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        import torch
except ImportError as error:  # the checks must fail, never skip, without torch
    torch = None
    TORCH_MISSING = (
        f"torch cannot be imported ({error}); the fixture checks need it, so install the test "
        "dependencies with `pip install -e \".[test]\"` or install `torch==2.13.0` directly"
    )
else:
    TORCH_MISSING = ""

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RULE_FOLDER = re.compile(r"PEL\d{3}\Z")
CONTRACT_NAMES = ("build", "example_input", "LENGTHS", "MAX_LEN", "check_change")


@dataclass(frozen=True)
class Pair:
    """An original fixture module and the expected output of `--fix` on it."""

    original: Path
    expected: Path

    @property
    def folder(self) -> str:
        return self.original.parent.name

    @property
    def id(self) -> str:
        return f"{self.folder}/{self.original.stem}"

    @property
    def selector(self) -> str:
        return self.folder if RULE_FOLDER.match(self.folder) else "PEL"

    @property
    def unsafe(self) -> bool:
        """Whether `--unsafe-fixes` is needed: any rule folder's unsafe fix, or a folder of all rules."""
        if not RULE_FOLDER.match(self.folder):
            return True
        if not self.original.is_file():
            return False
        settings = Settings(select=validate_selectors([self.selector]))
        result = lint_source(self.original.read_bytes(), str(self.original), settings)
        return any(
            diagnostic.fix is not None and diagnostic.fix.applicability is Applicability.UNSAFE
            for diagnostic in result.diagnostics
        )


def discover_pairs() -> List[Pair]:
    pairs = []
    for expected in sorted(FIXTURES.glob("*/*.fixed.py")):
        original = expected.with_name(expected.name[: -len(".fixed.py")] + ".py")
        pairs.append(Pair(original, expected))
    return pairs


PAIRS = discover_pairs()
SAFE_PAIRS = [pair for pair in PAIRS if not pair.unsafe]
UNSAFE_PAIRS = [pair for pair in PAIRS if pair.unsafe]


def parametrize_pairs(pairs: List[Pair]):
    return pytest.mark.parametrize("pair", pairs, ids=[pair.id for pair in pairs])


@pytest.fixture
def need_torch():
    if torch is None:
        pytest.fail(TORCH_MISSING, pytrace=False)


# --- Running the command line -------------------------------------------------------


def run_fix(pair: Pair, path: Path) -> Tuple[int, str]:
    """Run `posenc-lint --fix` on ``path`` in this process; return the exit code and standard error."""
    arguments = ["--fix", "--isolated", "--select", pair.selector, "-q", str(path)]
    if pair.unsafe:
        arguments.insert(1, "--unsafe-fixes")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(arguments)
    return code, stderr.getvalue() + stdout.getvalue()


def show_difference(expected: bytes, actual: bytes, name: str) -> str:
    lines = difflib.unified_diff(
        expected.decode("utf-8", "replace").splitlines(keepends=True),
        actual.decode("utf-8", "replace").splitlines(keepends=True),
        fromfile=f"{name} (expected)",
        tofile=f"{name} (produced by --fix)",
    )
    return "".join(lines)


def test_fixture_pairs_exist():
    assert PAIRS, f"no fixture pairs `*/<case>.fixed.py` under {FIXTURES}"


def test_every_case_has_expected_rewrite():
    missing = [
        str(path.relative_to(FIXTURES))
        for path in sorted(FIXTURES.glob("PEL*/*.py"))
        if not path.name.endswith(".fixed.py") and not path.with_name(path.stem + ".fixed.py").is_file()
    ]
    assert not missing, f"fixture cases without their expected rewrite `<case>.fixed.py`: {missing}"


def test_torch_is_installed():
    assert torch is not None, TORCH_MISSING


@parametrize_pairs(PAIRS)
def test_fix_rewrites_original_to_expected(pair, tmp_path):
    assert pair.original.is_file(), f"{pair.expected} has no original {pair.original.name} beside it"
    copy = tmp_path / pair.original.name
    shutil.copyfile(pair.original, copy)

    code, output = run_fix(pair, copy)

    assert code in (0, 1), f"posenc-lint --fix failed with exit code {code}:\n{output}"
    produced = copy.read_bytes()
    expected = pair.expected.read_bytes()
    assert produced == expected, (
        f"--fix output differs from {pair.expected.name}:\n"
        + show_difference(expected, produced, pair.original.name)
    )


@parametrize_pairs(PAIRS)
def test_second_fix_changes_nothing(pair, tmp_path):
    copy = tmp_path / pair.original.name
    shutil.copyfile(pair.expected, copy)

    code, output = run_fix(pair, copy)

    assert code in (0, 1), f"posenc-lint --fix failed with exit code {code}:\n{output}"
    produced = copy.read_bytes()
    expected = pair.expected.read_bytes()
    assert produced == expected, (
        f"--fix changed the already fixed {pair.expected.name}:\n"
        + show_difference(expected, produced, pair.expected.name)
    )


def contract_definitions(path: Path) -> Dict[str, str]:
    """Return the AST dump of each top-level contract definition in ``path``."""
    definitions: Dict[str, str] = {}
    for node in ast.parse(path.read_bytes()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in CONTRACT_NAMES:
            definitions[node.name] = ast.dump(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in CONTRACT_NAMES:
                    definitions[target.id] = ast.dump(node)
    return definitions


@parametrize_pairs(PAIRS)
def test_contract_is_identical_in_both_files(pair):
    original = contract_definitions(pair.original)
    fixed = contract_definitions(pair.expected)

    for name in ("build", "example_input", "LENGTHS"):
        assert name in original, f"{pair.original.name} does not define `{name}`"
    assert sorted(original) == sorted(fixed), "the two files define different contract names"
    for name in original:
        assert original[name] == fixed[name], f"`{name}` differs between the two files"


# --- Importing and running the modules ----------------------------------------------

_IMPORTED: Dict[Path, ModuleType] = {}


def import_by_path(path: Path) -> ModuleType:
    """Import a fixture file under a name of its own, without touching sys.path.

    The original and the fixed file define the same class names, so each gets
    a distinct module name and neither can shadow the other.
    """
    module = _IMPORTED.get(path)
    if module is not None:
        return module
    relative = path.relative_to(FIXTURES).as_posix()
    name = "posenc_fixture_" + re.sub(r"\W", "_", relative)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _IMPORTED[path] = module
    return module


def load_pair(pair: Pair) -> Tuple[ModuleType, ModuleType]:
    return import_by_path(pair.original), import_by_path(pair.expected)


def build(fixture: ModuleType):
    torch.manual_seed(0)
    return fixture.build()


def example_input(fixture: ModuleType, seq_len: int) -> tuple:
    torch.manual_seed(seq_len)
    arguments = fixture.example_input(seq_len)
    assert isinstance(arguments, tuple), "example_input() must return a tuple of forward arguments"
    return arguments


def lengths(fixture: ModuleType) -> List[int]:
    values = list(fixture.LENGTHS)
    assert len(values) >= 2, "LENGTHS needs at least two sequence lengths"
    assert values == sorted(values), "LENGTHS must be in ascending order"
    return values


def plain_tensor_attributes(module) -> List[str]:
    """Return the tensors stored on any submodule outside its Parameters and buffers."""
    found = []
    for prefix, submodule in module.named_modules():
        for name, value in vars(submodule).items():
            if isinstance(value, torch.Tensor):
                found.append(f"{prefix}.{name}" if prefix else name)
    return found


@parametrize_pairs(PAIRS)
def test_original_accepts_every_length(pair, need_torch):
    fixture, _ = load_pair(pair)
    module = build(fixture).eval()

    with torch.no_grad():
        for seq_len in lengths(fixture):
            module(*example_input(fixture, seq_len))


@parametrize_pairs(SAFE_PAIRS)
def test_safe_fix_keeps_outputs(pair, need_torch):
    old_fixture, new_fixture = load_pair(pair)
    old, new = build(old_fixture).eval(), build(new_fixture).eval()

    with torch.no_grad():
        for seq_len in lengths(new_fixture):
            arguments = example_input(new_fixture, seq_len)
            torch.testing.assert_close(
                new(*arguments), old(*arguments), msg=lambda text: f"seq_len {seq_len}: {text}"
            )


@parametrize_pairs(SAFE_PAIRS)
def test_safe_fix_loads_old_state_dict(pair, need_torch):
    old_fixture, new_fixture = load_pair(pair)
    old, new = build(old_fixture), build(new_fixture)

    new.load_state_dict(old.state_dict(), strict=True)


@parametrize_pairs(PAIRS)
def test_fixed_tables_follow_module_to(pair, need_torch):
    _, fixture = load_pair(pair)

    module = build(fixture)
    assert plain_tensor_attributes(module) == [], "tensors kept as plain attributes do not follow `.to()`"

    module.to(torch.float64)
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point():
            assert tensor.dtype == torch.float64, f"`{name}` stayed {tensor.dtype} after .to(torch.float64)"

    module = build(fixture).to("meta")
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        assert tensor.device.type == "meta", f"`{name}` stayed on {tensor.device} after .to('meta')"


@parametrize_pairs(PAIRS)
def test_fixed_parameters_survive_calls(pair, need_torch):
    _, fixture = load_pair(pair)
    module = build(fixture)
    before = dict(module.named_parameters())
    optimizer = torch.optim.SGD(list(before.values()), lr=0.1) if before else None

    for seq_len in lengths(fixture):
        module(*example_input(fixture, seq_len))

        after = dict(module.named_parameters())
        assert sorted(after) == sorted(before), f"Parameters changed names after seq_len {seq_len}"
        for name, parameter in after.items():
            assert parameter is before[name], f"`{name}` is a new Parameter after seq_len {seq_len}"
    if optimizer is not None:
        held = {id(parameter) for group in optimizer.param_groups for parameter in group["params"]}
        assert held == {id(parameter) for parameter in module.parameters()}


@parametrize_pairs(PAIRS)
def test_fixed_module_compiles_at_two_lengths(pair, need_torch):
    _, fixture = load_pair(pair)
    module = build(fixture).eval()
    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=True, backend="eager", dynamic=True)

    values = lengths(fixture)
    with torch.no_grad():
        for seq_len in (values[0], values[-1]):
            arguments = example_input(fixture, seq_len)
            torch.testing.assert_close(
                compiled(*arguments), module(*arguments), msg=lambda text: f"seq_len {seq_len}: {text}"
            )


@parametrize_pairs(PAIRS)
def test_fixed_module_rejects_longer_input(pair, need_torch):
    _, fixture = load_pair(pair)
    max_len = getattr(fixture, "MAX_LEN", None)
    if max_len is None:
        # Without MAX_LEN the fixture promises no length check; nothing to run.
        return
    assert max_len >= lengths(fixture)[-1], "LENGTHS goes past MAX_LEN"
    module = build(fixture).eval()

    with pytest.raises(ValueError) as raised, torch.no_grad():
        module(*example_input(fixture, max_len + 1))

    message = str(raised.value)
    assert re.search(rf"\b{max_len + 1}\b", message), f"the message does not name the length: {message}"
    assert re.search(rf"\b{max_len}\b", message), f"the message does not name the maximum: {message}"


@parametrize_pairs(UNSAFE_PAIRS)
def test_unsafe_fix_shows_documented_change(pair, need_torch):
    old_fixture, new_fixture = load_pair(pair)
    check_change = getattr(new_fixture, "check_change", None)
    assert check_change is not None, (
        f"{pair.expected.name} applies an unsafe fix, so it must define "
        "check_change(old_module, new_module) asserting what the fix changes"
    )

    check_change(build(old_fixture), build(new_fixture))
