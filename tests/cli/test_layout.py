"""What keeps a copied token whole, a path broken after a "/" only, and times in one format."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from rich.console import Console, Group
from rich.table import Table

from sightline.cli.layout import SlashWrapped, at_least, when, whole
from sightline.cli.render import jobs_table
from tests.cli.test_render import JOB

UUID = "8cfa3d1d-f09c-50c8-bcb2-17e0234f32c1"


def drawn(renderable, width: int) -> str:
    """As `Output` prints it: nothing cropped."""
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(renderable, crop=False)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 40, 20])
def test_a_whole_line_in_a_group_is_never_wrapped_or_cut(width):
    cursor = "eyJ" + "x" * 204
    assert f"More: add --cursor {cursor}\n" in drawn(Group("before", whole(f"More: add --cursor {cursor}")), width)


@pytest.mark.parametrize("width", [40, 20])
def test_a_table_is_drawn_wide_enough_for_its_no_wrap_ids_on_a_narrow_terminal(width):
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("path", overflow="fold")
    table.add_row(UUID, "/home/someone/Pictures/2024/a_long_name.jpg")
    assert UUID in drawn(at_least(table), width)
    assert UUID not in drawn(table, width)  # what rich does alone


def test_a_table_wide_enough_is_drawn_as_rich_draws_it():
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("path", overflow="fold")
    table.add_row(UUID, "/home/someone/Pictures/2024/a_long_name.jpg")
    assert drawn(at_least(table), 60) == drawn(table, 60)


@pytest.mark.parametrize("width", [12, 20, 30])
def test_a_path_breaks_after_a_slash_never_inside_a_name_that_fits(width):
    path = "/home/someone/Pictures/2024 Holidays/IMG_0001.jpg"
    lines = [line.strip() for line in drawn(SlashWrapped(path), width).splitlines()]
    assert all(len(line) <= width for line in lines), lines
    at = 0
    for line in lines:  # each line ends after a "/", before a space, or at the end
        at = path.index(line, at) + len(line)
        assert path[at - 1] == "/" or at == len(path) or path[at] == " ", lines
    assert at == len(path) and lines[-1].endswith("IMG_0001.jpg")


def test_a_name_wider_than_the_column_is_folded():
    lines = drawn(SlashWrapped("/a/abcdefghijklmnop"), 8).splitlines()
    assert [line.rstrip() for line in lines] == ["/a/", "abcdefgh", "ijklmnop"]


def test_times_read_as_the_rest_of_the_cli_in_this_machine_s_zone():
    moment = datetime(2026, 11, 27, 10, 55, 56, 123000, tzinfo=timezone.utc)
    assert when(moment.isoformat()) == f"{moment.astimezone():%Y-%m-%d %H:%M:%S}"
    assert when("2026-11-27T10:55:56Z") == f"{moment.astimezone():%Y-%m-%d %H:%M:%S}"
    assert (when(None), when(""), when("not a time")) == ("—", "—", "not a time")


@pytest.mark.parametrize("width", [60, 40])
def test_the_jobs_table_keeps_the_short_id_whole_on_a_narrow_terminal(width):
    listed = drawn(jobs_table({"jobs": [{**JOB, "job_id": "a" * 32, "collection": "holiday-photos"}]}), width)
    assert "aaaaaaaa " in listed, listed
