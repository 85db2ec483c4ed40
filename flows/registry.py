"""Every flow the bot knows, by flow id. A new flow is a module plus a line here."""
from __future__ import annotations

from flows.base import Flow
from flows.broadcast import BroadcastFlow
from flows.business import BusinessFlow
from flows.event_admin import EventAdminFlow
from flows.events import EventsFlow
from flows.groups import GroupsFlow
from flows.help import HelpFlow
from flows.onboarding import OnboardingFlow
from flows.optout import OptoutFlow
from flows.overview import OverviewFlow
from flows.privacy import PrivacyFlow
from flows.report import ReportFlow
from flows.staff import StaffFlow
from flows.survey import SurveyFlow
from flows.survey_admin import SurveyAdminFlow
from flows.triage import TriageFlow
from flows.unreached import UnreachedFlow


def all_flows() -> dict[str, Flow]:
    flows: list[Flow] = [
        OnboardingFlow(),
        HelpFlow(),
        PrivacyFlow(),
        OptoutFlow(),
        BusinessFlow(),
        ReportFlow(),
        SurveyFlow(),
        SurveyAdminFlow(),
        EventsFlow(),
        EventAdminFlow(),
        GroupsFlow(),
        StaffFlow(),
        TriageFlow(),
        OverviewFlow(),
        BroadcastFlow(),
        UnreachedFlow(),
    ]
    return {flow.id: flow for flow in flows}
