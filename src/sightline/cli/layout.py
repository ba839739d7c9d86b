"""How the CLI keeps what a person copies whole at any terminal width, wraps paths after a "/", and writes times.

Rich wraps and crops every line to the terminal's width; a cursor, an id or a command cut that way fails when it is
pasted. So: a line holding one is `whole` (rich never wraps it, `Output` never crops it: the terminal wraps it,
which copies as one line), and a table holding ids is drawn `at_least` as wide as it needs for them whole.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from sightline.humanize import moment

__all__ = ["MIN_FOLDING_WIDTH", "AtLeast", "SlashWrapped", "at_least", "when", "whole"]

MIN_FOLDING_WIDTH = 12  # the least a folding column (without a min_width) gets, drawn wider than the terminal


def whole(markup: str) -> Text:
    """A line of a `Group` that rich never wraps: the ids, cursors and commands in it reach the terminal in one
    piece. (Printed alone, rich would join it to other text and lose that: `Output.print` a string instead.)"""
    text = Text.from_markup(markup, overflow="ignore")
    text.no_wrap = True
    return text


class AtLeast:
    """`table` drawn `width` columns wide where the terminal is narrower: its lines run past the edge (the terminal
    wraps them) instead of rich cutting the ids of its `no_wrap` columns."""

    def __init__(self, table: Table, width: int):
        self.table, self.width = table, width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(self.table, options.update_width(max(options.max_width, self.width)))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)


def at_least(table: Table) -> AtLeast:
    """`table` with the cells of its `no_wrap` columns never cut: each of them as wide as its widest cell, every
    other column its `min_width` or MIN_FOLDING_WIDTH, plus the borders and padding (counted as a boxed table's,
    the widest case)."""
    width = 1
    for column in table.columns:
        cells = [cell_len(Text.from_markup(cell).plain) for cell in column.cells if isinstance(cell, str)]
        content = max([cell_len(str(column.header)), *cells]) if column.no_wrap else (
            column.min_width or MIN_FOLDING_WIDTH)
        width += content + 3  # its padding on both sides and a border
    return AtLeast(table, width)


class SlashWrapped:
    """A path that breaks after a "/" when its column is too narrow, never inside a name (a name longer than the
    column is folded), as the web pages' `folder_path` does."""

    def __init__(self, path: str, style: str = ""):
        self.path, self.style = path, style

    def parts(self) -> list[str]:
        pieces = self.path.split("/")
        return [piece + "/" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])

    def longest_word(self) -> int:
        """The widest piece it is drawn in without breaking a name: between "/" and spaces."""
        return max((cell_len(word) for part in self.parts() for word in part.split()), default=1)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.longest_word(), cell_len(self.path)).with_maximum(options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = [""]
        for part in self.parts():
            if lines[-1] and cell_len(lines[-1] + part) > options.max_width:
                lines.append("")
            lines[-1] += part
        yield Text("\n".join(lines), style=self.style, overflow="fold")


def when(value: str | None) -> str:
    """An ISO 8601 time in this machine's time zone as "2024-05-01 14:30:00" (as the web pages show times in the
    reader's); "—" for none, the text itself if it is no time."""
    if not value:
        return "—"
    if (time := moment(value)) is None:
        return value
    return (time.astimezone() if time.tzinfo else time).strftime("%Y-%m-%d %H:%M:%S")
