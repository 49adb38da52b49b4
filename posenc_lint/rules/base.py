"""The rule interface: one class per rule, whose docstring is its documentation."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import ClassVar, Iterator, List, Optional

import libcst as cst

from posenc_lint.fixes import FixPlan
from posenc_lint.model import ModuleModel

DOC_SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Options",
)


@dataclass(frozen=True)
class Finding:
    """What a rule reports: the node to point at, the message and an optional fix."""

    node: cst.CSTNode
    message: str
    fix: Optional[FixPlan] = None


class Rule:
    """Base class of every PEL rule.

    Subclasses set ``code``, ``name`` and ``summary``, write their documentation
    as the class docstring in Ruff's rule-page sections, and implement ``check``.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    default_enabled: ClassVar[bool] = True

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def section(cls, title: str) -> str:
        """Return the body of one ``## title`` section of the documentation."""
        text = cls.documentation()
        pattern = re.compile(r"^## " + re.escape(title) + r"\s*$", re.MULTILINE)
        match = pattern.search(text)
        if match is None:
            return ""
        rest = text[match.end():]
        following = re.search(r"^## ", rest, re.MULTILINE)
        return (rest[: following.start()] if following else rest).strip()

    @classmethod
    def code_blocks(cls, title: str) -> List[str]:
        """Return the fenced Python blocks of one documentation section."""
        body = cls.section(title)
        return [
            inspect.cleandoc(block)
            for block in re.findall(r"```python\n(.*?)```", body, re.DOTALL)
        ]
