"""Which values of the original the conversion's logged metrics must equal.

The converter reports every epoch metric it logs (``ConversionResult.metrics``: the ``self.log``
key, the expression in the original's terms, the lines after which it is final). verify records
those expressions in the original's run and compares them with what the converted run logged.

With one script (``verify train.py``) the map comes with the in-memory conversion. With two
(``verify a.py b.py``) ``a.py`` is converted in memory only to get the map; when ``b.py`` is
that conversion, word for word, the map is *strict* (a metric the converted run never logs is
a difference), otherwise a metric ``b.py`` does not log is reported, not judged. When ``a.py``
does not convert there is no map, and the printed lines (and ``add_scalar`` tags) are judged
alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class MetricMap:
    metrics: list[dict] = field(default_factory=list)  #: ``LoggedMetric`` s as dicts
    strict: bool = False  #: the converted script is the conversion the map describes
    how: str = ""  #: one line for the report

    def keys(self) -> list[str]:
        return [m["key"] for m in self.metrics]

    def to_dict(self) -> dict:
        return {"metrics": self.metrics, "strict": self.strict, "how": self.how}


def from_conversion(result, converted_source: str | None) -> MetricMap:
    """The map of a :class:`~pl_convert.converter.ConversionResult` (strict when the converted
    script that runs is ``result.output``; ``converted_source`` None means it is)."""
    metrics = [asdict(m) for m in result.metrics]
    for metric in metrics:
        if metric.get("called_from") is not None:
            metric["called_from"] = list(metric["called_from"])
    strict = converted_source is None or converted_source == result.output
    if strict:
        how = f"{len(metrics)} logged metric(s) from the conversion, each judged against the original's value"
    else:
        how = (f"{len(metrics)} logged metric(s) from converting the original in memory; the converted script "
               "is not that conversion: a metric it does not log is reported, not judged")
    return MetricMap(metrics, strict, how)


def none(reason: str) -> MetricMap:
    return MetricMap([], False, f"no logged metrics to judge: {reason}; printed lines (and add_scalar tags) are judged")
