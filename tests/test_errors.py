"""The error codes: one enum, its tree drawn in the module docstring, one rule for retriability."""

from __future__ import annotations

import re

import pytest

from sightline import errors
from sightline.errors import ErrorCode, ItemError, SightlineError, is_retriable

RETRIABLE = {
    ErrorCode.FILE_UNREADABLE,
    ErrorCode.ML_ITEM_FAILED,
    ErrorCode.STORE_FAILED,
    ErrorCode.DISK_FULL,
    ErrorCode.ML_UNAVAILABLE,
    ErrorCode.ML_TIMEOUT,
}


def test_every_code_is_drawn_in_the_tree() -> None:
    drawn = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{6,}\b", errors.__doc__ or ""))
    assert {code.value for code in ErrorCode} - drawn == set()


def test_the_tree_marks_exactly_the_retriable_codes() -> None:
    marked = set(re.findall(r"\b([A-Z_]+) \(r\)", errors.__doc__ or ""))
    assert marked == {code.value for code in RETRIABLE}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_is_retriable(code: ErrorCode) -> None:
    assert is_retriable(code) is (code in RETRIABLE)


def test_is_retriable_takes_the_stored_string() -> None:
    assert is_retriable("ML_TIMEOUT") is True


def test_all_files_failed_is_a_code() -> None:
    assert ErrorCode("ALL_FILES_FAILED") is ErrorCode.ALL_FILES_FAILED


def test_an_error_knows_if_it_is_retriable() -> None:
    assert SightlineError(ErrorCode.STORE_FAILED, "down", status=503).retriable is True


def test_an_error_becomes_an_item_error() -> None:
    item = SightlineError(ErrorCode.DECODE_FAILED, "not an image", where="image").to_item()
    assert item == ItemError(code=ErrorCode.DECODE_FAILED, message="not an image")


def test_an_item_error_prints_as_the_original_service_did() -> None:
    assert str(ItemError(code=ErrorCode.FILE_EMPTY, message="0 bytes")) == "FILE_EMPTY: 0 bytes"
