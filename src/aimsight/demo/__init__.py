"""Demo: the deterministic synthetic company and the ``aimsight demo`` pipeline."""

from aimsight.demo._generate import CompanyConfig, GenerationSummary, generate_company
from aimsight.demo._pipeline import DemoResult, build_demo, run_demo

__all__ = [
    "CompanyConfig",
    "DemoResult",
    "GenerationSummary",
    "build_demo",
    "generate_company",
    "run_demo",
]
