"""Real-time decisioning: decision flows with a consent gate, rules, arbitration, contact
policies, models in the loop, fallbacks, a human review queue and explanations.

:class:`DecisionService` is the one entry point the API, the CLI and the demo use; every
decision it makes is on the ledger before it returns.
"""

from aimsight.decide._flow import Flow, shipped_flows_folder
from aimsight.decide._flow import load_flow as load_flow_file
from aimsight.decide._results import (
    OUTCOMES,
    ChosenAction,
    Decision,
    DecisionRequest,
    Explanation,
    FlowOversight,
    FlowStatus,
    Outcome,
    Review,
)
from aimsight.decide._review import VERDICTS
from aimsight.decide._service import FLOWS_FOLDER, DecisionService

__all__ = [
    "FLOWS_FOLDER",
    "OUTCOMES",
    "VERDICTS",
    "ChosenAction",
    "Decision",
    "DecisionRequest",
    "DecisionService",
    "Explanation",
    "Flow",
    "FlowOversight",
    "FlowStatus",
    "Outcome",
    "Review",
    "load_flow_file",
    "shipped_flows_folder",
]
