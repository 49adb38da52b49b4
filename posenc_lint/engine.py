"""Parse a file once, build its model, run the selected rules and place the findings."""

from __future__ import annotations

import ast
import difflib
import codecs
import io
import logging
import re
import tokenize
import warnings
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple, Union

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from posenc_lint import nesting, noqa, skeleton, syntax
from posenc_lint.config import Settings, selected_codes
from posenc_lint.diagnostics import (
    INTERNAL_ERROR,
    SYNTAX_ERROR,
    UNREADABLE_FILE,
    Diagnostic,
    Edit,
    FileResult,
    Fix,
    Location,
    file_diagnostic,
)
from posenc_lint.fixes import FixPlan, apply_plans
from posenc_lint.model import ModuleModel, build_model
from posenc_lint.rules import ALL_RULES

LOG = logging.getLogger(__name__)

# Whether a file is cut down to the code that rules could report on before
# LibCST parses it (see ``skeleton``). Tests turn it off to compare.
CUT_FILES = True


def lint_path(path: Path, settings: Settings, display: Optional[str] = None) -> FileResult:
    """Read ``path`` as bytes and lint it."""
    shown = display or str(path)
    source = read_source(path, settings, shown)
    if isinstance(source, FileResult):
        return source
    return lint_source(source, shown, settings, path=path)


def read_source(path: Path, settings: Settings, display: Optional[str] = None) -> Union[bytes, FileResult]:
    """Return the bytes of ``path``, or the result to report when it cannot or need not be linted."""
    shown = display or str(path)
    try:
        size = path.stat().st_size
        if size > settings.max_file_size:
            if not _mentions_torch(path):
                # No rule can fire on a file that never names torch.
                LOG.debug("skipped %s: over max-file-size and never names torch", shown)
                return FileResult(shown)
            return FileResult(
                shown,
                (
                    file_diagnostic(
                        UNREADABLE_FILE,
                        shown,
                        f"file not linted: it is {_format_size(size)}, over the "
                        f"{_format_size(settings.max_file_size)} limit set by "
                        "`max-file-size`",
                    ),
                ),
            )
        return path.read_bytes()
    except FileNotFoundError:
        return FileResult(shown, (file_diagnostic(UNREADABLE_FILE, shown, "file not found"),))
    except IsADirectoryError:
        return FileResult(shown, (file_diagnostic(UNREADABLE_FILE, shown, "is a folder, not a file"),))
    except OSError as error:
        reason = error.strerror or str(error)
        return FileResult(shown, (file_diagnostic(UNREADABLE_FILE, shown, f"cannot read file: {reason}"),))


def _mentions_torch(path: Path, chunk_size: int = 1 << 20) -> bool:
    """Search the file for ``torch`` in chunks, so a huge file is never held in memory."""
    previous_tail = b""
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(chunk_size)
            if not chunk:
                return False
            if b"torch" in previous_tail + chunk:
                return True
            # Keep the last bytes so a name split across two chunks is still found.
            previous_tail = chunk[-4:]


def _format_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size} bytes"
    return f"{size / 1048576:.1f} MiB ({size} bytes)"


def lint_source(
    source: Union[bytes, str],
    display: str,
    settings: Settings,
    path: Optional[Path] = None,
    apply_noqa: bool = True,
    tree: Optional[ast.Module] = None,
) -> FileResult:
    """Lint one file's contents; ``display`` is the name used in diagnostics.

    ``tree`` is the contents parsed by ``ast`` when the caller has it (flake8
    does). An unexpected exception becomes a PEL902 diagnostic for this file,
    so one file cannot stop a run over many.
    """
    try:
        with nesting.recursion_headroom():
            return _lint_source(source, display, settings, path, apply_noqa, tree)
    except Exception as error:  # noqa: BLE001 - report and go on with the other files
        LOG.debug("linting %s failed", display, exc_info=True)
        return FileResult(
            display,
            (
                file_diagnostic(
                    INTERNAL_ERROR,
                    display,
                    f"internal error while linting the file: {nesting.describe_error(error)}; "
                    "please report this with the file",
                ),
            ),
        )


def _lint_source(
    source: Union[bytes, str],
    display: str,
    settings: Settings,
    path: Optional[Path],
    apply_noqa: bool,
    tree: Optional[ast.Module] = None,
) -> FileResult:
    text = _decode(source, display)
    if isinstance(text, Diagnostic):
        return FileResult(display, (text,))
    if noqa.skips_file(text):
        return FileResult(display, skipped=True)

    # LibCST accepts a NUL byte inside a string or a comment, but CPython
    # rejects any source that contains one.
    if "\0" in text:
        offset = text.index("\0")
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1)
        return FileResult(
            display,
            (
                file_diagnostic(
                    SYNTAX_ERROR,
                    display,
                    "syntax error: the file contains a NUL byte, which Python rejects in source code",
                    line,
                    column,
                ),
            ),
        )

    codes = selected_codes(settings, path if path is not None else Path(display))
    if CUT_FILES:
        if not skeleton.could_report(text, settings.position_table_pattern):
            return FileResult(display)

    # LibCST's native parser can crash the process on very deep nesting.
    problem = nesting.nesting_problem(text, tree)
    if problem is not None:
        return FileResult(
            display, (file_diagnostic(problem.code, display, problem.message, problem.line, problem.column),)
        )

    if CUT_FILES:
        cut_text = skeleton.cut(text, settings.position_table_pattern, tree)
        if cut_text is not None and cut_text != text:
            try:
                cut_module = cst.parse_module(cut_text)
            except Exception:  # noqa: BLE001 - the whole file's parse below reports it
                cut_module = None
            if cut_module is not None and not _has_findings(cut_module, settings, codes):
                return FileResult(display)
            # A fix, a finding's message or an init call that clears a
            # finding may sit in code that was cut, so the whole file is
            # analysed again.

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        line, column, message = _syntax_error_details(text, error)
        return FileResult(
            display,
            (file_diagnostic(SYNTAX_ERROR, display, f"syntax error: {message}", line, column),),
        )
    except RecursionError:
        return FileResult(
            display,
            (file_diagnostic(SYNTAX_ERROR, display, "cannot parse: the code nests too deeply"),),
        )
    except (UnicodeDecodeError, LookupError) as error:
        return FileResult(display, (file_diagnostic(UNREADABLE_FILE, display, f"cannot decode file: {error}"),))

    return _run_rules(module, text, display, settings, codes, apply_noqa)


LIBCST_ERROR_POSITION = re.compile(r"^(?:parser error: )?error at (\d+):(\d+): ")


def _syntax_error_details(text: str, error: cst.ParserSyntaxError) -> Tuple[int, int, str]:
    """Return line, 0-based column and message for a parse failure.

    CPython's compiler names the problem more precisely than LibCST's native
    parser, so its account is preferred when it also rejects the code.
    """
    try:
        compile(text, "<posenc-lint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as python_error:
        line = python_error.lineno or 1
        column = max((python_error.offset or 1) - 1, 0)
        return line, column, python_error.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    message = error.message
    match = LIBCST_ERROR_POSITION.match(message)
    if match:
        return int(match.group(1)), int(match.group(2)), message[match.end():]
    return max(error.raw_line, 1), max(error.raw_column, 0), message


def _decode(source: Union[bytes, str], display: str) -> Union[str, Diagnostic]:
    if isinstance(source, str):
        return source
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as error:
        # detect_encoding rejects an unknown coding name, a coding name that
        # contradicts a UTF-8 byte order mark, and first lines that are not
        # UTF-8. The last case falls through to the decode below, which names
        # the invalid byte.
        if source.startswith(codecs.BOM_UTF8) and "encoding problem" in str(error):
            return file_diagnostic(
                UNREADABLE_FILE,
                display,
                "cannot decode file: it starts with a UTF-8 byte order mark but its coding "
                "line names another encoding; remove the byte order mark or the coding line",
            )
        if "invalid or missing encoding declaration" not in str(error):
            return file_diagnostic(UNREADABLE_FILE, display, f"cannot decode file: {error}")
        encoding = "utf-8"
    try:
        return source.decode(encoding)
    except UnicodeDecodeError as error:
        line = source[: error.start].count(b"\n") + 1
        return file_diagnostic(
            UNREADABLE_FILE,
            display,
            f"cannot decode file as {encoding}: byte 0x{source[error.start]:02x} on line {line} "
            "is invalid; save the file as UTF-8 or declare its encoding in a "
            "`# -*- coding: NAME -*-` line",
            line,
        )
    except LookupError as error:
        return file_diagnostic(UNREADABLE_FILE, display, f"cannot decode file: {error}")


def _run_rules(
    module: cst.Module,
    text: str,
    display: str,
    settings: Settings,
    codes: FrozenSet[str],
    apply_noqa: bool,
) -> FileResult:
    diagnostics, _ = analyse(module, text, display, settings, codes, apply_noqa)
    return FileResult(display, tuple(diagnostics))


def _has_findings(module: cst.Module, settings: Settings, codes: FrozenSet[str]) -> bool:
    """Return whether any selected rule reports on ``module`` or fails on it."""
    try:
        model = _model_for(module, settings)
    except Exception:  # noqa: BLE001 - the whole-file analysis reports it
        return True
    for rule_class in _selected_rules(codes):
        try:
            for _ in rule_class().check(model):
                return True
        except Exception:  # noqa: BLE001 - the whole-file analysis reports it
            return True
    return False


def _model_for(module: cst.Module, settings: Settings) -> ModuleModel:
    model = build_model(module, settings.position_table_pattern)
    model.settings = settings
    return model


def _selected_rules(codes: FrozenSet[str]) -> List[type]:
    return [rule_class for rule_class in ALL_RULES if rule_class.code in codes]


def analyse(
    module: cst.Module,
    text: str,
    display: str,
    settings: Settings,
    codes: FrozenSet[str],
    apply_noqa: bool = True,
) -> Tuple[List[Diagnostic], List[Tuple[Diagnostic, FixPlan]]]:
    """Run the selected rules on a parsed module.

    Returns the sorted diagnostics, and beside them each diagnostic that has a
    fix paired with the rule's plan for it, for the fixer.
    """
    diagnostics: List[Diagnostic] = []
    plans: List[Tuple[Diagnostic, FixPlan]] = []
    pending = []
    try:
        model = _model_for(module, settings)
    except RecursionError:
        return [file_diagnostic(INTERNAL_ERROR, display, "cannot analyse: the code nests too deeply")], []
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the run
        LOG.debug("building the model of %s failed", display, exc_info=True)
        return [
            file_diagnostic(INTERNAL_ERROR, display, f"internal error while analysing the file: {nesting.describe_error(error)}")
        ], []

    for rule_class in _selected_rules(codes):
        try:
            for finding in rule_class().check(model):
                pending.append((rule_class, finding))
        except Exception as error:  # noqa: BLE001 - report and go on with the other rules
            LOG.debug("rule %s failed on %s", rule_class.code, display, exc_info=True)
            diagnostics.append(
                file_diagnostic(
                    INTERNAL_ERROR,
                    display,
                    f"rule {rule_class.code} ({rule_class.name}) failed on this file: {nesting.describe_error(error)}; "
                    "please report this with the file",
                )
            )

    if pending:
        positions = _positions_of(module, text, [finding.node for _, finding in pending])
        noqa_map = noqa.NoqaMap(text) if apply_noqa else None
        seen = set()
        for rule_class, finding in pending:
            span: Optional[CodeRange] = positions.get(finding.node)
            if span is None:
                continue
            start = Location(span.start.line, span.start.column)
            end = Location(span.end.line, span.end.column)
            key = (rule_class.code, start)
            if key in seen:
                continue
            seen.add(key)
            if noqa_map is not None and noqa_map.is_suppressed(start.line, rule_class.code):
                continue
            plan = finding.fix
            fix = None
            if plan is not None:
                edits = plan_edits(module, text, plan) if settings.fix_edits else ()
                fix = Fix(plan.message, plan.applicability, edits)
            diagnostic = Diagnostic(
                rule_class.code, rule_class.name, finding.message, display, start, end, fix
            )
            diagnostics.append(diagnostic)
            if plan is not None:
                plans.append((diagnostic, plan))
    diagnostics.sort(key=Diagnostic.sort_key)
    plans.sort(key=lambda pair: pair[0].sort_key())
    return diagnostics, plans


def plan_edits(module: cst.Module, text: str, plan: FixPlan) -> Tuple[Edit, ...]:
    """Return a fix's changes as whole-line text edits against ``text``.

    The plan is applied alone to the parsed module and the two texts compared
    line by line, so one edit covers each run of changed lines.
    """
    try:
        updated, applied = apply_plans(module, [plan])
    except Exception:  # noqa: BLE001 - a fix that cannot be rendered is shown without edits
        LOG.debug("rendering the fix %r failed", plan.message, exc_info=True)
        return ()
    if not applied or module.code != text:
        # A module LibCST cannot reproduce would show its dropped bytes as edits.
        return ()
    old_lines = skeleton.source_lines(text)
    new_lines = skeleton.source_lines(updated.code)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    edits = []
    for tag, first, last, new_first, new_last in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(
            Edit(
                Location(first + 1, 0),
                Location(last + 1, 0),
                "".join(new_lines[new_first:new_last]),
            )
        )
    return tuple(edits)


def _positions(module: cst.Module) -> Dict[cst.CSTNode, CodeRange]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    return dict(wrapper.resolve(PositionProvider))


def _positions_of(module: cst.Module, text: str, nodes: List[cst.CSTNode]) -> Dict[cst.CSTNode, CodeRange]:
    """Return the spans of ``nodes``, computing positions only for the top-level statements holding them.

    LibCST's PositionProvider renders the whole module, which costs more than
    the parse on a large file. Each statement is rendered alone instead, and
    its first line is found from CPython's parse of ``text``. The rendered
    statement must match ``text`` at that line, else the whole module is used.
    """
    starts = _statement_lines(text, len(module.body))
    if starts is None:
        return _positions(module)
    wanted = {id(node) for node in nodes}
    holders: Dict[int, List[cst.CSTNode]] = {}
    for index, statement in enumerate(module.body):
        for node in syntax.walk(statement):
            if id(node) in wanted:
                holders.setdefault(index, []).append(node)
        if sum(len(found) for found in holders.values()) >= len(wanted):
            break
    lines = skeleton.source_lines(text) if holders else []
    spans: Dict[cst.CSTNode, CodeRange] = {}
    for index, found in holders.items():
        statement = module.body[index]
        alone = module.with_changes(header=(), body=(statement,), footer=())
        rendered = skeleton.source_lines(alone.code)
        first = starts[index] - 1 - _lines_before_code(statement)
        if first < 0 or [line.rstrip("\r\n") for line in lines[first : first + len(rendered)]] != [
            line.rstrip("\r\n") for line in rendered
        ]:
            return _positions(module)
        positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        for node in found:
            span = positions.get(node)
            if span is not None:
                spans[node] = CodeRange(
                    CodePosition(span.start.line + first, span.start.column),
                    CodePosition(span.end.line + first, span.end.column),
                )
    return spans


def _statement_lines(text: str, expected: int) -> Optional[List[int]]:
    """Return the first code line of each top-level statement as LibCST groups them, or None.

    CPython's parse lists small statements that share a line separately, while
    LibCST keeps them in one line statement, so those are grouped by line.
    None means the two parsers do not agree on the count.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    starts: List[int] = []
    for statement in tree.body:
        first = skeleton.first_line(statement)
        if starts and starts[-1] == first:
            continue
        starts.append(first)
    return starts if len(starts) == expected else None


def _lines_before_code(statement: cst.CSTNode) -> int:
    """Return how many blank and comment lines LibCST renders before the statement's first code line."""
    count = len(getattr(statement, "leading_lines", ()))
    decorators = getattr(statement, "decorators", ())
    if decorators:
        count += len(decorators[0].leading_lines)
    return count
