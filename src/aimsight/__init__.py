"""aimsight: governed customer intelligence.

Unifies customer data, predicts and decides in real time with consent enforced, and proves
every AI decision to an ISO/IEC 42001 auditor with evidence from the running system.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
