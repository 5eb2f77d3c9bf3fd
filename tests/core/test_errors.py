"""Every deliberate error is an AimsightError with a stable code and an exit status."""

from __future__ import annotations

import inspect

import aimsight.core.errors as errors


def test_every_error_derives_from_the_root_and_has_a_unique_code() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    assert all(issubclass(cls, errors.AimsightError) for cls in classes)
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))


def test_every_error_is_drawn_in_the_module_docstring() -> None:
    for name in errors.__all__:
        assert name in (errors.__doc__ or ""), f"{name} missing from the tree in the docstring"


def test_message_is_the_string_form() -> None:
    error = errors.InvalidInput("customers must be at least 1", field="customers")
    assert str(error) == "customers must be at least 1"
    assert error.field == "customers"
    assert error.exit_code != 0
