"""WhatsApp message templates: which kind of business-initiated message a catalogue
key is, so the dispatcher can send it as an approved template outside WhatsApp's
24-hour window."""
from __future__ import annotations

# Catalogue key (or key prefix ending in ".") -> template kind. A key not listed is a
# message with no template of its own: outside the window it goes as the generic one.
KIND_BY_KEY = {
    "broadcast.message": "announcement",
    "event_admin.invitation": "event_invitation",
    "events.announce": "event_invitation",
    "events.reminder": "event_reminder",
    "event_admin.changed": "event_change",
    "event_admin.cancelled_notice": "event_change",
    "survey_admin.invite": "survey_invitation",
    "survey_admin.reminder": "survey_reminder",
    "report.update.": "report_status",
    "triage.merged_notice": "report_status",
}
GENERIC = "generic"


def kind_for_key(key: str) -> str:
    """The template kind that carries a message written from catalogue `key`."""
    if key in KIND_BY_KEY:
        return KIND_BY_KEY[key]
    for prefix, kind in KIND_BY_KEY.items():
        if prefix.endswith(".") and key.startswith(prefix):
            return kind
    return GENERIC
