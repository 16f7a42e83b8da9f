"""Splicing a plan's edits into the script's tree: replaced statements, removed ones (their
blank lines handed on, a review comment kept in their place), and ``if`` statements left empty.

Everything else of the tree is the script's own nodes, untouched: it prints byte for byte as
before. The emitter splices the final module; the planner splices a preview to see which names
the converted script still reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import libcst as cst

from .tree import has_call, if_chain

if TYPE_CHECKING:
    from .plan import Removal, Replacement, Rewrite


def splice(module: cst.Module, replacements: Sequence[Replacement], removals: Sequence[Removal], rewrites: Sequence[Rewrite] = ()) -> cst.Module:
    """``module`` with ``replacements``, ``removals`` and ``rewrites`` applied."""
    return module.visit(_Splice(replacements, removals, rewrites))


def leading_blanks(stmt: cst.CSTNode) -> list[cst.EmptyLine]:
    """The blank lines above a statement, before its first comment."""
    out = []
    for line in getattr(stmt, "leading_lines", ()):
        if line.comment is not None:
            break
        out.append(line)
    return out


def _emptied_if(stmt: cst.If) -> bool:
    """An ``if`` whose every branch lost all its statements (and whose test has no calls)."""
    return all(
        isinstance(node.body, cst.IndentedBlock) and not node.body.body and not (isinstance(node, cst.If) and has_call(node.test))
        for node in if_chain(stmt)
    )


class _Splice(cst.CSTTransformer):
    def __init__(self, replacements: Sequence[Replacement], removals: Sequence[Removal], rewrites: Sequence[Rewrite] = ()) -> None:
        self.replacements = {r.statement: r for r in replacements}
        self.rewrites: dict[cst.CSTNode, list[Rewrite]] = {}
        for rewrite in rewrites:
            self.rewrites.setdefault(rewrite.statement, []).append(rewrite)
        self.removed = {r.statement: r for r in removals}
        self.markers: dict[int, cst.CSTNode] = {}  #: id -> the removed-statement marker (held, so ids stay unique)
        self._left_over: list[cst.EmptyLine] = []

    def on_leave(self, original, updated):
        replacement = self.replacements.get(original)
        if replacement is not None:
            new = replacement.statements
            if not new:
                return cst.RemoveFromParent()
            if replacement.keep_leading_lines and hasattr(original, "leading_lines"):
                first = new[0]
                new = [first.with_changes(leading_lines=list(original.leading_lines) + list(getattr(first, "leading_lines", [])))] + list(new[1:])
            return cst.FlattenSentinel(new)
        removal = self.removed.get(original)
        if removal is not None:
            lines = leading_blanks(original)
            if removal.comment:
                lines = lines + [cst.EmptyLine(comment=cst.Comment(removal.comment))]
            marker = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=lines)
            self.markers[id(marker)] = marker  # keeps the marker alive: its id must not be reused
            return marker
        for rewrite in self.rewrites.get(original, ()):
            updated = rewrite.edit(updated)
        if isinstance(updated, (cst.Module, cst.IndentedBlock)):
            body = self._without_markers(list(updated.body))
            if self._left_over:  # a review comment whose statement was the block's last
                return updated.with_changes(body=body, footer=list(self._left_over) + list(updated.footer))
            return updated.with_changes(body=body)
        return updated

    def _without_markers(self, body: list) -> list:
        """Drop removed statements, handing their blank lines to the next statement."""
        out = []
        carried: list[cst.EmptyLine] = []
        for stmt in body:
            if isinstance(stmt, cst.If) and _emptied_if(stmt):
                stmt = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=leading_blanks(stmt))
                self.markers[id(stmt)] = stmt
            if id(stmt) in self.markers:
                carried = carried or list(stmt.leading_lines)
                continue
            if carried:
                existing = list(stmt.leading_lines)
                carried_blanks = [line for line in carried if line.comment is None]
                comments = [line for line in carried if line.comment is not None]  # a removed statement's review comment
                extra = max(0, len(carried_blanks) - len(leading_blanks(stmt)))
                stmt = stmt.with_changes(leading_lines=carried_blanks[:extra] + comments + existing)
                carried = []
            out.append(stmt)
        self._left_over = [line for line in carried if line.comment is not None]
        return out
