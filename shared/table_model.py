"""`TableModel`, the base of every table model: SQLModel's, built at a quarter of the cost."""

import copy
import functools
from collections.abc import Callable
from enum import Enum
from typing import Any

from pydantic.fields import FieldInfo
from sqlmodel import SQLModel
from sqlmodel._compat import finish_init

_IMMUTABLE = (type(None), bool, int, float, str, bytes, Enum)


class TableModel(SQLModel):
    """A table model: `class Case(TableModel, table=True)`.

    SQLModel builds a table object by setting its fields one by one through pydantic's and
    SQLAlchemy's attribute hooks, validating nothing on the way: 28 µs for a timeline entry
    of seven fields (bench/RESULTS.md). A TableModel writes the given fields and the defaults
    straight into the object, as SQLAlchemy does when it loads a row, once SQLAlchemy's
    constructor has given the object its state: 10 µs. As with SQLModel, a keyword that is
    not a field is ignored and a missing required field is left unset."""

    def __init__(self, **values: Any) -> None:
        # model_validate builds a table object itself, after constructing it empty.
        if not finish_init.get():
            return
        given = {}
        for name, default in _fields(type(self)):
            if name in values:
                given[name] = values[name]
            elif default is not None:
                self.__dict__[name] = default()
        self.__dict__.update(given)
        object.__setattr__(self, "__pydantic_fields_set__", set(given))


@functools.cache
def _fields(model: type[SQLModel]) -> tuple[tuple[str, Callable[[], Any] | None], ...]:
    """Each field's name with what makes its default (None when it is required)."""
    return tuple((name, _default(field)) for name, field in model.model_fields.items())


def _default(field: FieldInfo) -> Callable[[], Any] | None:
    if field.default_factory is not None:
        if field.default_factory_takes_validated_data:
            raise TypeError("a TableModel's default factory takes no arguments")
        return field.default_factory  # type: ignore[return-value]
    if field.is_required():
        return None
    value = field.default
    if isinstance(value, _IMMUTABLE):
        return lambda: value
    return lambda: copy.deepcopy(value)
