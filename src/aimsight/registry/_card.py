"""Model cards (Mitchell et al., 2019, "Model Cards for Model Reporting").

A card is assembled from what the registry already holds: the trainer's evidence (metrics,
evaluation, fairness, notes), the data snapshot, the signature, the gates, the approvals, and
the few things only people can say (:class:`CardInputs`). It renders as Markdown, as one
self-contained HTML page (charts drawn as inline SVG), or as JSON; :meth:`ModelCard.
missing_sections` is what validation uses to refuse an incomplete card.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from aimsight.registry._signature import describe_type
from aimsight.registry._types import Approval, ModelVersion

__all__ = ["SECTIONS", "ModelCard", "build_card", "reliability_svg"]

SECTIONS: tuple[tuple[str, str], ...] = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation data"),
    ("training_data", "Training data"),
    ("quantitative_analyses", "Quantitative analyses"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats_and_recommendations", "Caveats and recommendations"),
)
"""The card's sections, by key and title, in the order of Mitchell et al."""

_METRIC_WHY = {
    "roc_auc": "how well the model ranks positives above negatives (0.5 is chance, 1 perfect)",
    "pr_auc": "precision over recall; tells more than ROC AUC when positives are rare",
    "average_precision": "precision averaged over recall; robust when positives are rare",
    "brier": "mean squared error of the probabilities (lower is better); accuracy and "
    "calibration together",
    "ece": "expected calibration error: how far stated probabilities are from observed rates "
    "(lower is better); decisions treat the probabilities as real chances",
    "log_loss": "penalises confident wrong probabilities (lower is better)",
    "accuracy": "share of correct labels at the decision threshold",
    "precision": "share of flagged customers who really are positive",
    "recall": "share of positive customers the model flags",
    "f1": "balance of precision and recall at the threshold",
    "c_index": "concordance: how well predicted times order the observed ones (0.5 is chance)",
    "concordance": "how well predicted times order the observed ones (0.5 is chance)",
    "silhouette": "how well separated the segments are (-1 to 1, higher is better)",
    "davies_bouldin": "average similarity of each segment to its closest one (lower is better)",
    "stability": "how much the segments hold when the data is resampled (higher is better)",
    "mae": "mean absolute error in the predicted unit",
    "rmse": "root mean squared error; punishes large misses",
    "mape": "mean absolute percentage error",
    "r2": "share of variance explained",
}


@dataclass(frozen=True)
class ModelCard:
    """A model card: nine sections, each a JSON-ready value."""

    model_details: dict[str, Any]
    intended_use: dict[str, Any]
    factors: dict[str, Any]
    metrics: dict[str, Any]
    evaluation_data: dict[str, Any]
    training_data: dict[str, Any]
    quantitative_analyses: dict[str, Any]
    ethical_considerations: list[str]
    caveats_and_recommendations: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The card as a JSON-ready dict, one key per section."""
        return {key: getattr(self, key) for key, _ in SECTIONS}

    def missing_sections(self) -> list[str]:
        """Sections still empty (keys of :data:`SECTIONS`); a complete card has none.

        A section counts as empty when what only people can supply is missing (owner,
        intended use and users, out-of-scope uses, factors, ethical considerations, caveats)
        or when the trainer left no evidence for it (metrics, evaluation or training data).
        """
        missing: list[str] = []
        if not _text(self.model_details.get("owner")):
            missing.append("model_details")
        use = self.intended_use
        if not (
            _text(use.get("primary_use"))
            and _filled(use.get("intended_users"))
            and _filled(use.get("out_of_scope_uses"))
        ):
            missing.append("intended_use")
        if not _filled(self.factors.get("relevant")):
            missing.append("factors")
        if not self.metrics.get("measures"):
            missing.append("metrics")
        evaluation = self.evaluation_data
        if not (evaluation.get("rows") or evaluation.get("method") == "cross-validation"):
            missing.append("evaluation_data")
        if not (self.training_data.get("rows") and self.training_data.get("features")):
            missing.append("training_data")
        if not self.quantitative_analyses.get("overall"):
            missing.append("quantitative_analyses")
        if not _filled(self.ethical_considerations):
            missing.append("ethical_considerations")
        if not _filled(self.caveats_and_recommendations):
            missing.append("caveats_and_recommendations")
        return missing

    # -- Markdown -------------------------------------------------------------------------

    def to_markdown(self) -> str:
        """The card as Markdown (GitHub tables)."""
        details = self.model_details
        lines = [f"# Model card: {details['name']} v{details['version']}", ""]
        lines += ["## Model details", ""]
        lines += _md_pairs(
            [
                ("Name", details["name"]),
                ("Version", details["version"]),
                ("Kind", details["kind"]),
                ("Algorithm", details["algorithm"]),
                ("Stage", details["stage"]),
                ("Owner", details["owner"] or "(not given)"),
                ("Trained by", details["trainer"]),
                ("Registered", details["date"]),
                ("Artifact SHA-256", f"`{details['artifact_sha256']}`"),
                ("Library versions", _inline(details["library_versions"])),
            ]
        )
        if details["approvals"]:
            lines += ["", "Approvals:", ""]
            lines += [
                f"- {a['approver']} ({a['approver_role']}), {a['approved_at']}: {a['rationale']}"
                for a in details["approvals"]
            ]
        use = self.intended_use
        lines += ["", "## Intended use", "", use["primary_use"] or "(not given)", ""]
        lines += ["Intended users:", ""] + _md_list(use["intended_users"])
        lines += ["", "Out of scope:", ""] + _md_list(use["out_of_scope_uses"])
        lines += ["", "## Factors", ""] + _md_list(self.factors["relevant"])
        if self.factors["evaluated"]:
            lines += ["", "Evaluated by group: " + ", ".join(self.factors["evaluated"])]
        lines += ["", "## Metrics", ""]
        lines += _md_table(
            ["metric", "value", "gate", "why"],
            [
                [m["metric"], _number(m["value"]), _gate_words(m["gate"]), m["why"]]
                for m in self.metrics["measures"]
            ],
        )
        lines += ["", "## Evaluation data", ""]
        lines += _md_pairs(list(self.evaluation_data.items()))
        training = self.training_data
        lines += ["", "## Training data", "", f"Rows: {training['rows']}", ""]
        if training["snapshot"]:
            lines += _md_table(
                ["lake file", "sha256"], [[f, f"`{h}`"] for f, h in training["snapshot"].items()]
            )
            lines.append("")
        lines += _md_table(
            ["feature", "type", "description"],
            [[f["name"], f["type"], f["description"]] for f in training["features"]],
        )
        quantitative = self.quantitative_analyses
        lines += ["", "## Quantitative analyses", "", "Overall:", ""]
        lines += _md_table(
            ["metric", "value"], [[k, _number(v)] for k, v in quantitative["overall"].items()]
        )
        for table in quantitative["by_group"]:
            lines += ["", f"By {table['attribute']}:", ""]
            lines += _md_table(table["columns"], [[_number(v) for v in r] for r in table["rows"]])
            if table["summary"]:
                lines += ["", _inline(table["summary"])]
        if quantitative["fairness_gate"] is not None:
            lines += ["", "Fairness gate: " + _gate_verdict(quantitative["fairness_gate"])]
        if quantitative["reliability"]:
            lines += ["", "Reliability (calibration):", ""]
            lines += _md_table(
                ["mean predicted", "observed rate", "count"],
                [
                    [
                        _number(b.get("mean_predicted")),
                        _number(b.get("observed_rate")),
                        b.get("count"),
                    ]
                    for b in quantitative["reliability"]
                ],
            )
        for persona in quantitative["personas"]:
            title = persona.get("name") or persona.get("segment_name") or persona.get("id")
            traits = [
                _trait(t) for t in persona.get("distinguishing") or [] if isinstance(t, Mapping)
            ]
            size = f" ({persona['size']} customers)" if "size" in persona else ""
            lines += ["", f"Persona {title}{size}" + (": " + "; ".join(traits) if traits else "")]
        lines += ["", "## Ethical considerations", ""] + _md_list(self.ethical_considerations)
        lines += ["", "## Caveats and recommendations", ""]
        lines += _md_list(self.caveats_and_recommendations)
        return "\n".join(lines).rstrip() + "\n"

    # -- HTML -----------------------------------------------------------------------------

    def to_html(self) -> str:
        """The card as one self-contained HTML page (no external files or scripts).

        The reliability curve is drawn as inline SVG when the evaluation has reliability bins,
        and persona cards are shown when it has personas.
        """
        details = self.model_details
        title = f"Model card: {details['name']} v{details['version']}"
        body: list[str] = [f"<h1>{_e(title)}</h1>"]
        body.append(_section("Model details", _html_pairs(self._detail_pairs())))
        if details["approvals"]:
            body.append(
                _html_table(
                    ["approver", "role", "when", "rationale"],
                    [
                        [a["approver"], a["approver_role"], a["approved_at"], a["rationale"]]
                        for a in details["approvals"]
                    ],
                )
            )
        use = self.intended_use
        body.append(
            _section(
                "Intended use",
                f"<p>{_e(use['primary_use'] or '(not given)')}</p>"
                + "<h3>Intended users</h3>"
                + _html_list(use["intended_users"])
                + "<h3>Out of scope</h3>"
                + _html_list(use["out_of_scope_uses"]),
            )
        )
        factors = _html_list(self.factors["relevant"])
        if self.factors["evaluated"]:
            factors += f"<p>Evaluated by group: {_e(', '.join(self.factors['evaluated']))}</p>"
        body.append(_section("Factors", factors))
        body.append(
            _section(
                "Metrics",
                _html_table(
                    ["metric", "value", "gate", "why"],
                    [
                        [m["metric"], _number(m["value"]), _gate_words(m["gate"]), m["why"]]
                        for m in self.metrics["measures"]
                    ],
                ),
            )
        )
        body.append(_section("Evaluation data", _html_pairs(list(self.evaluation_data.items()))))
        training = self.training_data
        training_html = f"<p>Rows: {_e(training['rows'])}</p>"
        if training["snapshot"]:
            training_html += _html_table(
                ["lake file", "sha256"], [[f, h] for f, h in training["snapshot"].items()]
            )
        training_html += _html_table(
            ["feature", "type", "description"],
            [[f["name"], f["type"], f["description"]] for f in training["features"]],
        )
        body.append(_section("Training data", training_html))
        body.append(_section("Quantitative analyses", self._quantitative_html()))
        body.append(_section("Ethical considerations", _html_list(self.ethical_considerations)))
        body.append(
            _section("Caveats and recommendations", _html_list(self.caveats_and_recommendations))
        )
        personas = self.quantitative_analyses["personas"]
        if personas:
            body.append(_section("Personas", _persona_cards(personas)))
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body)
            + "</body></html>\n"
        )

    def _detail_pairs(self) -> list[tuple[str, Any]]:
        details = self.model_details
        return [
            ("Name", details["name"]),
            ("Version", details["version"]),
            ("Kind", details["kind"]),
            ("Algorithm", details["algorithm"]),
            ("Stage", details["stage"]),
            ("Owner", details["owner"] or "(not given)"),
            ("Trained by", details["trainer"]),
            ("Registered", details["date"]),
            ("Artifact SHA-256", details["artifact_sha256"]),
            ("Library versions", _inline(details["library_versions"])),
        ]

    def _quantitative_html(self) -> str:
        quantitative = self.quantitative_analyses
        parts = [
            "<h3>Overall</h3>",
            _html_table(
                ["metric", "value"],
                [[k, _number(v)] for k, v in quantitative["overall"].items()],
            ),
        ]
        reliability = quantitative["reliability"]
        if reliability:
            chart = reliability_svg(reliability)
            if chart:
                parts += ["<h3>Reliability (calibration)</h3>", f"<figure>{chart}</figure>"]
        for table in quantitative["by_group"]:
            parts.append(f"<h3>By {_e(table['attribute'])}</h3>")
            parts.append(
                _html_table(table["columns"], [[_number(v) for v in r] for r in table["rows"]])
            )
            if table["summary"]:
                parts.append(_html_pairs(list(table["summary"].items())))
        if quantitative["fairness_gate"] is not None:
            parts.append(
                f"<p>Fairness gate: {_e(_gate_verdict(quantitative['fairness_gate']))}</p>"
            )
        return "".join(parts)


def build_card(version: ModelVersion, approvals: Sequence[Approval] = ()) -> ModelCard:
    """The card of ``version`` from what the registry holds about it."""
    inputs = version.card_inputs
    by_group = _group_tables(version.fairness)
    evaluation_method = "holdout" if version.evaluation_rows else "cross-validation"
    if not version.evaluation_rows and not version.evaluation:
        evaluation_method = "none recorded"
    evaluation_data: dict[str, Any] = {
        "method": evaluation_method,
        "rows": version.evaluation_rows,
    }
    for key in ("holdout", "split", "folds", "as_of", "period", "description"):
        if key in version.evaluation and _scalarish(version.evaluation[key]):
            evaluation_data[key] = version.evaluation[key]
    caveats = list(inputs.caveats_and_recommendations) + [
        f"Trainer's note: {note}" for note in version.notes
    ]
    return ModelCard(
        model_details={
            "name": version.name,
            "version": version.version,
            "kind": version.kind,
            "algorithm": version.algorithm,
            "stage": version.stage,
            "owner": inputs.owner,
            "trainer": version.trainer,
            "date": version.created_at,
            "artifact_sha256": version.artifact_sha256,
            "library_versions": dict(version.provenance),
            "params": version.params,
            "approvals": [approval.to_dict() for approval in approvals],
        },
        intended_use={
            "primary_use": inputs.intended_use,
            "intended_users": list(inputs.intended_users),
            "out_of_scope_uses": list(inputs.out_of_scope_uses),
        },
        factors={
            "relevant": list(inputs.factors),
            "evaluated": [table["attribute"] for table in by_group],
        },
        metrics={
            "measures": [
                {
                    "metric": metric,
                    "value": value,
                    "gate": version.gates.get(metric),
                    "why": _METRIC_WHY.get(metric.lower(), ""),
                }
                for metric, value in version.metrics.items()
            ],
            "gates": {k: dict(v) for k, v in version.gates.items()},
        },
        evaluation_data=evaluation_data,
        training_data={
            "rows": version.training_rows,
            "snapshot": dict(version.data_snapshot),
            "features": [
                {
                    "name": spec.name,
                    "type": describe_type(spec),
                    "description": spec.description,
                }
                for spec in version.features
            ],
            "importance": [[f, w] for f, w in version.importance],
        },
        quantitative_analyses={
            "overall": dict(version.metrics),
            "by_group": by_group,
            "fairness_gate": _top_gate(version.fairness),
            "reliability": _list_of_dicts(version.evaluation.get("reliability")),
            "personas": _list_of_dicts(version.evaluation.get("personas")),
        },
        ethical_considerations=list(inputs.ethical_considerations),
        caveats_and_recommendations=caveats,
    )


def reliability_svg(bins: Sequence[Any]) -> str:
    """A reliability curve (predicted probability against observed rate) as inline SVG.

    ``bins`` are ``{"mean_predicted", "observed_rate", "count"}``; malformed bins are left
    out, and no usable bin gives an empty string.
    """
    points = [
        (float(b["mean_predicted"]), float(b["observed_rate"]), float(b.get("count") or 1))
        for b in bins
        if isinstance(b, Mapping)
        and _finite(b.get("mean_predicted"))
        and _finite(b.get("observed_rate"))
    ]
    if not points:
        return ""
    # Imported here: matplotlib takes a noticeable part of a second to load, and only cards
    # with a reliability curve need it.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.2, 4.2))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="#999999", linewidth=1, label="perfect")
    xs, ys, counts = zip(*points, strict=True)
    largest = max(counts) or 1.0
    axes.plot(xs, ys, color="#1f5fa8", linewidth=1.5, label="model")
    axes.scatter(xs, ys, s=[20 + 120 * c / largest for c in counts], color="#1f5fa8", zorder=3)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("predicted probability")
    axes.set_ylabel("observed rate")
    axes.legend(loc="upper left", frameon=False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.find("<svg") :]


# -- fairness tables ---------------------------------------------------------------------------


def _group_tables(fairness: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per-attribute tables from fairness results: ``{attribute, columns, rows, summary}``.

    Reads ``{"attributes": {name: {"groups": [{"group", metric...}], gap: {"value", "ci"},
    ...}}}`` (what :mod:`aimsight.insight` trainers report) and also ``by_group`` given as
    ``{group: {metric: value}}``. Gaps and other scalar entries become the table's summary.
    """
    if not isinstance(fairness, Mapping):
        return []
    source = fairness.get("attributes", fairness)
    if not isinstance(source, Mapping):
        return []
    tables = []
    for attribute, result in source.items():
        if not isinstance(result, Mapping):
            continue
        groups = result.get("groups", result.get("by_group"))
        columns, rows = _group_rows(groups)
        if not rows:
            continue
        summary: dict[str, Any] = {}
        for key, value in result.items():
            if key in ("groups", "by_group", "gate"):
                continue
            if isinstance(value, Mapping) and "value" in value:
                summary[key] = _with_interval(value)
            elif _scalarish(value):
                summary[key] = value
        gate = result.get("gate")
        if isinstance(gate, Mapping) and "passed" in gate:
            summary["gate"] = _gate_verdict(gate)
        tables.append(
            {"attribute": str(attribute), "columns": columns, "rows": rows, "summary": summary}
        )
    return tables


def _group_rows(by_group: Any) -> tuple[list[str], list[list[Any]]]:
    records: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(by_group, Mapping):
        for group, values in by_group.items():
            records.append(
                (str(group), values if isinstance(values, Mapping) else {"value": values})
            )
    elif isinstance(by_group, list):
        for item in by_group:
            if isinstance(item, Mapping):
                group = item.get("group", item.get("name", ""))
                rest = {k: v for k, v in item.items() if k not in ("group", "name")}
                records.append((str(group), rest))
    metrics: list[str] = []
    for _, values in records:
        metrics += [
            k
            for k, v in values.items()
            if k not in metrics and v is not None and _scalarish(v) and not k.endswith("_ci")
        ]
    rows = [
        [group] + [_cell_with_interval(values, metric) for metric in metrics]
        for group, values in records
    ]
    return ["group", *metrics], rows


def _cell_with_interval(values: Mapping[str, Any], metric: str) -> Any:
    """A group's value, with its interval (``<metric>_ci``) when the trainer gave one."""
    value = values.get(metric)
    interval = values.get(f"{metric}_ci")
    if _finite(value) and isinstance(interval, list) and len(interval) == 2:
        low, high = interval
        if _finite(low) and _finite(high):
            return f"{_number(float(value))} ({_number(float(low))} to {_number(float(high))})"
    return value


def _with_interval(value: Mapping[str, Any]) -> str:
    text = str(_number(value.get("value")))
    interval = value.get("ci")
    if isinstance(interval, list) and len(interval) == 2 and all(_finite(v) for v in interval):
        text += f" (interval {_number(float(interval[0]))} to {_number(float(interval[1]))})"
    return text


def _top_gate(fairness: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(fairness, Mapping):
        return None
    gate = fairness.get("gate")
    return dict(gate) if isinstance(gate, Mapping) else None


def _gate_verdict(gate: Mapping[str, Any]) -> str:
    """``passed``/``failed`` with the limits broken and the warnings, in words."""
    parts = []
    for violation in gate.get("violations") or []:
        if isinstance(violation, Mapping):
            parts.append(
                " ".join(
                    str(_number(violation[k]))
                    for k in ("attribute", "metric", "value")
                    if k in violation
                )
                + (f" (limit {_number(violation['limit'])})" if "limit" in violation else "")
            )
    parts += [str(w) for w in gate.get("warnings") or [] if isinstance(w, str)]
    rest = {
        k: v
        for k, v in gate.items()
        if k not in ("passed", "violations", "warnings") and _scalarish(v)
    }
    if rest:
        parts.append(_inline(rest))
    verdict = "passed" if gate.get("passed") else "failed"
    return verdict + (": " + "; ".join(parts) if parts else "")


# -- rendering helpers -------------------------------------------------------------------------

_CSS = (
    "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;"
    "margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.45}"
    "h1{font-size:1.6rem}h2{border-bottom:1px solid #d8dde6;padding-bottom:.2rem;"
    "margin-top:2rem}table{border-collapse:collapse;margin:.6rem 0;width:100%}"
    "th,td{border:1px solid #d8dde6;padding:.3rem .5rem;text-align:left;vertical-align:top;"
    "font-size:.9rem}th{background:#f3f5f9}dl{display:grid;grid-template-columns:max-content "
    "1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}"
    ".personas{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));"
    "gap:1rem}.persona{border:1px solid #d8dde6;border-radius:8px;padding:.8rem}"
    ".persona h3{margin:.1rem 0 .4rem}figure{margin:0}svg{max-width:420px;height:auto}"
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _section(title: str, content: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{content}</section>"


def _html_list(items: Iterable[Any]) -> str:
    listed = [f"<li>{_e(item)}</li>" for item in items]
    return f"<ul>{''.join(listed)}</ul>" if listed else "<p>(not given)</p>"


def _html_pairs(pairs: Iterable[tuple[str, Any]]) -> str:
    items = "".join(
        f"<dt>{_e(key)}</dt><dd>{_e(_inline(value) if isinstance(value, Mapping) else value)}</dd>"
        for key, value in pairs
    )
    return f"<dl>{items}</dl>"


def _html_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _persona_cards(personas: Sequence[Any]) -> str:
    """Persona cards: name, size and share, and the traits that set the segment apart."""
    cards = []
    for persona in personas:
        if not isinstance(persona, Mapping):
            continue
        title = persona.get("name") or persona.get("segment_name") or persona.get("id", "")
        pairs = [
            (key, _compact(value))
            for key, value in persona.items()
            if key not in ("name", "segment_name", "distinguishing", "statistics")
            and (_scalarish(value) or key == "traits")
        ]
        if _finite(persona.get("share")):
            pairs = [(k, f"{float(persona['share']):.1%}" if k == "share" else v) for k, v in pairs]
        traits = [_trait(t) for t in persona.get("distinguishing") or [] if isinstance(t, Mapping)]
        cards.append(
            f'<div class="persona"><h3>{_e(title)}</h3>'
            + _html_pairs(pairs)
            + (_html_list(traits) if traits else "")
            + "</div>"
        )
    return f'<div class="personas">{"".join(cards)}</div>'


def _trait(trait: Mapping[str, Any]) -> str:
    """``Tenure (days): 812 vs 420 overall`` from a distinguishing feature."""
    label = str(trait.get("description") or trait.get("feature") or "")
    if trait.get("category") is not None:
        label += f" = {trait['category']}"
    segment, population = trait.get("segment_mean"), trait.get("population_mean")
    if _finite(segment) and _finite(population):
        return f"{label}: {_number(float(segment))} vs {_number(float(population))} overall"
    return label


def _md_list(items: Iterable[Any]) -> list[str]:
    listed = [f"- {item}" for item in items]
    return listed or ["(not given)"]


def _md_pairs(pairs: Iterable[tuple[str, Any]]) -> list[str]:
    return _md_table(["", ""], [[f"**{k}**", v] for k, v in pairs])


def _md_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        text = _inline(value) if isinstance(value, Mapping) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _inline(mapping: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {_number(v)}" for k, v in mapping.items())


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return _inline(value)
    if isinstance(value, list):
        return ", ".join(_compact(v) for v in value)
    return str(_number(value))


def _number(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else value


def _gate_words(gate: Mapping[str, Any] | None) -> str:
    if not gate:
        return ""
    words = []
    if "min" in gate:
        words.append(f">= {_number(float(gate['min']))}")
    if "max" in gate:
        words.append(f"<= {_number(float(gate['max']))}")
    return " and ".join(words)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _filled(values: Any) -> bool:
    return isinstance(values, list) and any(_text(v) for v in values)


def _finite(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [dict(item) for item in value if isinstance(item, Mapping)]


def _scalarish(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
