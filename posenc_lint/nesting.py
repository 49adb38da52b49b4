"""Limits on how deeply code may nest before it reaches LibCST.

LibCST 1.9's native parser recurses once per level of nesting on the C stack
and has no depth limit of its own. With the default 8 MiB stack it crashes the
whole process, a segmentation fault and no exception, at about 1,200 nested
brackets, about 6,000 levels of an attribute chain and between 6,000 and
10,000 operands of one ``and`` chain. CPython rejects more than 200 nested
brackets ("too many nested parentheses") and most chains past about 3,000
levels. It accepts ``and`` and ``or`` chains of any length, because it keeps
them flat where LibCST nests them.

LibCST's code generation, metadata and transformers recurse in Python, about
ten frames per level of nesting, so code that CPython accepts needs more than
the default recursion limit of 1,000 frames.

``nesting_problem`` decides whether a file may be parsed by LibCST, and
``recursion_headroom`` raises the recursion limit for the work on a file that
passed. Measured with CPython 3.11.7 and LibCST 1.9.0 on Linux x86-64.
"""

from __future__ import annotations

import ast
import contextlib
import re
import sys
import threading
import warnings
from dataclasses import dataclass
from itertools import accumulate
from typing import Iterator, List, Optional, Tuple

from posenc_lint.catalogue import SYNTAX_ERROR, UNREADABLE_FILE

# Levels of nesting that posenc-lint lints, counted as ``ast`` nodes with an
# ``and``/``or`` chain of n operands counted as n - 1 levels, because LibCST
# nests it. Deeper files are reported and not parsed.
MAX_NESTING = 1000

# Python frames that LibCST's recursive code uses per level of MAX_NESTING,
# with margin: a bracket level is three LibCST nodes of about 3.5 frames each.
FRAMES_PER_LEVEL = 12

# Cheap text measures below which no file can nest near MAX_NESTING, so the
# exact check with ``ast`` is skipped. Brackets in strings and comments count.
SCAN_BRACKET_DEPTH = 100
SCAN_LINE_LENGTH = 5000
SCAN_BOOLEAN_OPERATORS = 2000

# The messages of CPython 3.11's parser for nesting past its own limits. It
# rejects more than CPYTHON_MAX_BRACKETS nested brackets and 100 levels of
# indentation.
CPYTHON_NESTING_MESSAGES = (
    "too many nested parentheses",
    "too many levels of indentation",
)
CPYTHON_MAX_BRACKETS = 200

_BRACKETS = re.compile(r"[\[\](){}]")
_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


@dataclass(frozen=True)
class NestingProblem:
    """Why a file is not handed to LibCST: the diagnostic to report instead."""

    code: str
    message: str
    line: int
    column: int


def nesting_problem(text: str, tree: Optional[ast.Module] = None) -> Optional[NestingProblem]:
    """Return why ``text`` must not be parsed by LibCST, or None when it may be.

    ``tree`` is ``text`` parsed by ``ast`` when the caller has it. Most files
    pass a scan of the text that costs about 1% of the time to lint them. The
    others are
    parsed by ``ast``: nesting that CPython rejects is a syntax error (PEL900,
    with CPython's message and position), and nesting that CPython accepts but
    that exceeds MAX_NESTING is reported as a file not linted (PEL901). Other
    syntax errors return None, so LibCST and the engine report them as usual.
    """
    if not _may_nest_deeply(text):
        return None
    if tree is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except SyntaxError as error:
            if any(message in str(error.msg) for message in CPYTHON_NESTING_MESSAGES):
                line = error.lineno or 1
                return NestingProblem(SYNTAX_ERROR, f"syntax error: {error.msg}", line, max((error.offset or 1) - 1, 0))
            return _bracket_problem(text)
        except (RecursionError, MemoryError):
            return NestingProblem(
                SYNTAX_ERROR,
                "syntax error: the code nests too deeply for Python's parser, which rejects it",
                1,
                0,
            )
        except ValueError:
            return _bracket_problem(text)
    depth, line = nesting_depth(tree)
    if depth > MAX_NESTING:
        return NestingProblem(
            UNREADABLE_FILE,
            f"file not linted: its code nests {depth} levels deep, more than the {MAX_NESTING} "
            "levels posenc-lint handles, because LibCST's parser can crash on deeper code",
            line,
            0,
        )
    return None


def _may_nest_deeply(text: str) -> bool:
    """Return whether cheap measures of ``text`` allow nesting near MAX_NESTING.

    NOTE: brackets in strings and comments count too, so unmatched closing
    brackets there can hide deep bracket nesting after them. A chain of
    operators other than ``and``/``or`` spread over thousands of short lines
    is not caught either. Looking for those costs several percent of linting,
    and only code generators write them.
    """
    # Words such as " order" count too, which only makes the scan more careful.
    if text.count(" and") + text.count(" or") >= SCAN_BOOLEAN_OPERATORS:
        return True
    if max(map(len, text.splitlines()), default=0) > SCAN_LINE_LENGTH:
        return True
    return _bracket_depth(text) > SCAN_BRACKET_DEPTH


def _bracket_problem(text: str) -> Optional[NestingProblem]:
    """Return a problem when ``text``, which ``ast`` rejects for another reason, nests too deeply in brackets.

    A file that uses syntax newer than the running Python is rejected by
    ``ast`` but may still be linted, so only the bracket depth decides here.
    """
    depth = _bracket_depth(text)
    if depth <= CPYTHON_MAX_BRACKETS:
        return None
    return NestingProblem(
        UNREADABLE_FILE,
        f"file not linted: brackets nest {depth} levels deep, which neither Python nor "
        "LibCST's parser accepts",
        1,
        0,
    )


def _bracket_depth(text: str) -> int:
    """Return the largest number of brackets open at once, counting every bracket character."""
    return max(accumulate(map(_STEP.__getitem__, _BRACKETS.findall(text))), default=0)


def nesting_depth(tree: ast.AST) -> Tuple[int, int]:
    """Return the deepest nesting of ``tree`` as LibCST would nest it, and the line it is on.

    Each ``ast`` node is one level, and a ``BoolOp`` of n operands n - 1 levels.
    """
    deepest, deepest_line = 0, 1
    stack: List[Tuple[ast.AST, int, int]] = [(tree, 1, 1)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)
        if depth > deepest:
            deepest, deepest_line = depth, line
        step = len(node.values) - 1 if isinstance(node, ast.BoolOp) else 1
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + step, line))
    return deepest, deepest_line


_headroom_lock = threading.Lock()
_headroom_users = 0
_saved_limit = 0


@contextlib.contextmanager
def recursion_headroom(levels: int = MAX_NESTING) -> Iterator[None]:
    """Raise the recursion limit so LibCST can handle ``levels`` of nesting, and restore it afterwards.

    The limit is process-wide: it is raised when the first thread enters and
    restored when the last one leaves. NOTE: a deep recursion uses C stack as
    well, and Python 3.9 and 3.10 use more of it per frame. The headroom was
    checked with the 8 MiB main-thread stack of Linux on Python 3.11. Threads
    with smaller stacks (macOS gives them 512 KiB) may still crash on the
    deepest files.
    """
    global _headroom_users, _saved_limit
    needed = _stack_depth() + FRAMES_PER_LEVEL * levels
    with _headroom_lock:
        if _headroom_users == 0:
            _saved_limit = sys.getrecursionlimit()
        _headroom_users += 1
        if needed > sys.getrecursionlimit():
            sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        with _headroom_lock:
            _headroom_users -= 1
            if _headroom_users == 0:
                sys.setrecursionlimit(_saved_limit)


def _stack_depth() -> int:
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def describe_error(error: BaseException, limit: int = 300) -> str:
    """Return the exception's type and arguments for a message, at most ``limit`` characters long.

    An argument that is a LibCST node shows as its type's name: its repr prints
    the whole subtree, which for deep code is megabytes long or raises
    RecursionError itself.
    """
    parts = []
    for argument in error.args:
        if type(argument).__module__.startswith("libcst"):
            parts.append(f"<{type(argument).__name__}>")
            continue
        try:
            parts.append(repr(argument)[:limit])
        except Exception:  # noqa: BLE001 - any failure of repr falls back to the type's name
            parts.append(f"<{type(argument).__name__}>")
    text = f"{type(error).__name__}({', '.join(parts)})"
    if len(text) > limit:
        return text[:limit] + "..."
    return text
