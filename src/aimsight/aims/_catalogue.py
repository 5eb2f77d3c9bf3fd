"""The ISO/IEC 42001 catalogue: clauses 4 to 10 and Annex A's 38 controls, as data.

The catalogue ships in the package (``catalogue.yaml``) and is validated on load, so a typo
fails with the path of the bad entry (``annex_a[4].controls[2].id``) rather than later in a
Statement of Applicability. Ids follow the standard; titles are short summaries in our own
words. Each control names the automated checks (``aimsight.aims`` control checks) whose results
evidence it. The catalogue is versioned: the version is printed on every SoA and report.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aimsight.core.errors import InvalidInput, NotFound
from aimsight.core.yaml_paths import setting_path

__all__ = [
    "Catalogue",
    "Clause",
    "Control",
    "ObjectiveGroup",
    "load_catalogue",
    "shipped_catalogue",
    "shipped_catalogue_text",
]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser where libyaml is present

CLAUSE_ID = r"^(?:[4-9]|10)(?:\.[1-9]){0,2}$"
GROUP_ID = r"^A\.(?:[2-9]|10)$"
CONTROL_ID = r"^A\.(?:[2-9]|10)(?:\.[1-9]){1,2}$"
CHECK_ID = r"^[a-z][a-z0-9_]{0,62}$"
MAX_TITLE = 80

CheckId = Annotated[str, Field(pattern=CHECK_ID)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Clause(_Spec):
    """A clause or sub-clause of the management system requirements (4 to 10)."""

    id: str = Field(pattern=CLAUSE_ID)
    title: str = Field(min_length=1, max_length=MAX_TITLE)

    @property
    def parent(self) -> str | None:
        """The id of the clause this one sits under (``6.1`` for ``6.1.2``); ``None`` at top."""
        head, _, _ = self.id.rpartition(".")
        return head or None


class Control(_Spec):
    """An Annex A control, with the automated checks that evidence it."""

    id: str = Field(pattern=CONTROL_ID)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    group: str = Field(pattern=GROUP_ID)  # its objective group; filled in from the file's nesting
    checks: tuple[CheckId, ...] = ()

    @model_validator(mode="after")
    def _checks_once(self) -> Control:
        if len(set(self.checks)) != len(self.checks):
            raise ValueError("checks: each check may be listed once")
        return self


class ObjectiveGroup(_Spec):
    """An Annex A objective (A.2 to A.10) and its controls."""

    id: str = Field(pattern=GROUP_ID)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    controls: tuple[Control, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _fill_group(cls, value: object) -> object:
        # Controls sit inside their group in the file; each carries the group's id once loaded.
        if isinstance(value, dict) and isinstance(value.get("controls"), list):
            group = value.get("id")
            value = {
                **value,
                "controls": [
                    {"group": group, **item} if isinstance(item, dict) else item
                    for item in value["controls"]
                ],
            }
        return value

    @model_validator(mode="after")
    def _controls_belong(self) -> ObjectiveGroup:
        for index, control in enumerate(self.controls):
            if not control.id.startswith(self.id + "."):
                raise ValueError(
                    f"controls[{index}]: {control.id} does not belong under {self.id}; "
                    "move it to its own group"
                )
            if control.group != self.id:
                raise ValueError(f"controls[{index}].group: must be {self.id} or left out")
        return self


class _CatalogueFile(_Spec):
    """The YAML file's shape."""

    version: str = Field(min_length=1)
    standard: Literal["ISO/IEC 42001:2023"]
    clauses: tuple[Clause, ...] = Field(min_length=1)
    annex_a: tuple[ObjectiveGroup, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_rooted(self) -> _CatalogueFile:
        seen: set[str] = set()
        for index, clause in enumerate(self.clauses):
            if clause.id in seen:
                raise ValueError(f"clauses[{index}]: {clause.id} is listed twice")
            if clause.parent is not None and clause.parent not in seen:
                raise ValueError(
                    f"clauses[{index}]: {clause.id} comes before its parent {clause.parent}; "
                    "list the parent first"
                )
            seen.add(clause.id)
        ids: set[str] = set()
        for g_index, group in enumerate(self.annex_a):
            if group.id in ids:
                raise ValueError(f"annex_a[{g_index}]: {group.id} is listed twice")
            ids.add(group.id)
            for c_index, control in enumerate(group.controls):
                if control.id in ids:
                    raise ValueError(
                        f"annex_a[{g_index}].controls[{c_index}]: {control.id} is listed twice"
                    )
                ids.add(control.id)
        return self


class Catalogue:
    """A validated catalogue with lookups by id; build it with :func:`load_catalogue` or
    :func:`shipped_catalogue`.

    Examples:
        >>> catalogue = shipped_catalogue()
        >>> catalogue.control("A.6.2.8").title
        'Event logs of AI systems kept'
    """

    def __init__(self, spec: _CatalogueFile) -> None:
        self._spec = spec
        self._groups = {group.id: group for group in spec.annex_a}
        self._controls = {
            control.id: control for group in spec.annex_a for control in group.controls
        }
        self._clauses = {clause.id: clause for clause in spec.clauses}

    @property
    def version(self) -> str:
        """The catalogue's version, printed on every Statement of Applicability."""
        return self._spec.version

    @property
    def standard(self) -> str:
        """The standard and edition the catalogue follows."""
        return self._spec.standard

    def clauses(self) -> list[Clause]:
        """Every clause and sub-clause, in the standard's order."""
        return list(self._clauses.values())

    def clause(self, clause_id: str) -> Clause:
        """The clause with this id.

        Raises:
            NotFound: there is no such clause in this catalogue.
        """
        try:
            return self._clauses[clause_id]
        except KeyError:
            raise NotFound(
                f"clause {clause_id!r} is not in catalogue {self.version}; "
                "clause ids look like 6.1.2"
            ) from None

    def groups(self) -> list[ObjectiveGroup]:
        """Annex A's objective groups (A.2 to A.10), in order."""
        return list(self._groups.values())

    def group(self, group_id: str) -> ObjectiveGroup:
        """The objective group with this id (``A.6``).

        Raises:
            NotFound: there is no such group in this catalogue.
        """
        try:
            return self._groups[group_id]
        except KeyError:
            raise NotFound(
                f"Annex A objective {group_id!r} is not in catalogue {self.version}; "
                "objective ids run from A.2 to A.10"
            ) from None

    def controls(self) -> list[Control]:
        """Every Annex A control, in the standard's order, each with its ``group`` set."""
        return list(self._controls.values())

    def control(self, control_id: str) -> Control:
        """The Annex A control with this id (``A.6.2.8``).

        Raises:
            NotFound: there is no such control in this catalogue.
        """
        try:
            return self._controls[control_id]
        except KeyError:
            raise NotFound(
                f"control {control_id!r} is not in catalogue {self.version}; "
                "Annex A ids run from A.2.2 to A.10.4"
            ) from None

    def has_control(self, control_id: str) -> bool:
        """Whether ``control_id`` is one of this catalogue's Annex A controls."""
        return control_id in self._controls

    def checks_by_control(self) -> dict[str, tuple[str, ...]]:
        """For each control id, the ids of the automated checks that evidence it."""
        return {control.id: control.checks for control in self._controls.values()}

    def controls_for_check(self, check_id: str) -> list[Control]:
        """The controls a check evidences, according to this catalogue."""
        return [control for control in self._controls.values() if check_id in control.checks]

    def to_dict(self) -> dict[str, Any]:
        """The catalogue in its file form, JSON-ready (for evidence packs)."""
        return self._spec.model_dump(mode="json")

    @classmethod
    def from_yaml(cls, text: str, *, origin: str) -> Catalogue:
        """Parse and validate catalogue YAML; ``origin`` names the file in error messages.

        Raises:
            InvalidInput: the text is not YAML, or an entry is wrong (the message names its path).
        """
        try:
            data = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise InvalidInput(
                f"{origin}:{where} is not valid YAML; fix the syntax", field="catalogue"
            ) from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: object, *, origin: str) -> Catalogue:
        """Validate a mapping in the file's form; see :meth:`from_yaml`."""
        if not isinstance(data, Mapping):
            raise InvalidInput(
                f"{origin}: expected a mapping with version, standard, clauses and annex_a",
                field="catalogue",
            )
        try:
            return cls(_CatalogueFile.model_validate(data))
        except ValidationError as exc:
            error = exc.errors()[0]
            path = setting_path(error.get("loc", ()))
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if error.get("type") == "extra_forbidden":
                message = "unknown key; entries take id, title (and checks for controls)"
            where = f"{path}: " if path else ""
            raise InvalidInput(f"{origin}: {where}{message}", field=path or "catalogue") from None


def shipped_catalogue_text() -> str:
    """The catalogue YAML as shipped with aimsight."""
    return resources.files("aimsight.aims").joinpath("catalogue.yaml").read_text("utf-8")


@cache
def shipped_catalogue() -> Catalogue:
    """The catalogue shipped with aimsight (loaded once; it is immutable)."""
    return Catalogue.from_yaml(shipped_catalogue_text(), origin="shipped catalogue.yaml")


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue file; the shipped one when ``path`` is ``None``.

    Raises:
        InvalidInput: the file is missing, not YAML, or an entry is wrong (the message names
            the file and the entry's path).
    """
    if path is None:
        return shipped_catalogue()
    if not path.is_file():
        raise InvalidInput(
            f"{path} does not exist; pass the path of a catalogue YAML file, "
            "or none to use the shipped catalogue",
            field="catalogue",
        )
    return Catalogue.from_yaml(path.read_text(encoding="utf-8"), origin=str(path))
