"""The one place for the names of report statuses, kinds and list groups (chat and export)."""

from __future__ import annotations

from db.reports import ReportStatus, StatusType
from handlers.i18n import N_, _

STATUS_LABELS = {
    ReportStatus.new: N_("New"), ReportStatus.acknowledged: N_("Received"),
    ReportStatus.in_progress: N_("In progress"), ReportStatus.reopened: N_("Reopened"),
    ReportStatus.fixed: N_("Resolved"), ReportStatus.not_responsible: N_("Not our responsibility"),
    ReportStatus.duplicate: N_("Duplicate"), ReportStatus.closed: N_("Closed"),
    ReportStatus.noted: N_("Acknowledged"), ReportStatus.shared: N_("Shared with all teams"),
}
TYPE_LABELS = {StatusType.open: N_("Open"), StatusType.fixed: N_("Resolved"), StatusType.closed: N_("Closed")}
KIND_LABELS = {"difficulty": N_("Difficulty, obstacle"), "good_practice": N_("Good practice")}
GROUP_LABELS = {"o": N_("Open"), "f": N_("Resolved"), "c": N_("Closed"), "a": N_("All")}


def status_label(status: str) -> str:
    """A status in the current locale."""
    return _(STATUS_LABELS[ReportStatus(status)])


def status_type_label(status: str) -> str:
    """The status group (open, resolved, closed) of a status in the current locale."""
    return _(TYPE_LABELS[ReportStatus(status).type])


def kind_label(kind: str) -> str:
    """A report kind in the current locale (an unknown kind reads as a difficulty)."""
    return _(KIND_LABELS.get(kind, KIND_LABELS["difficulty"]))


def people_line(kind: str, people) -> str:
    """The people line: affected by a difficulty, helped by a good practice."""
    if kind == "good_practice":
        return _("People helped: {people}").format(people=people)
    return _("People affected: {people}").format(people=people)
