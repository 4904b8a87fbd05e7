"""Cautions shown to providers on listings that look like the usual scams, each with its
reason (docs/trust-and-safety.md): pay far above the category's norm for little work — a fixed
budget at least ``FAR_ABOVE`` times the median of the category's other fixed budgets in that
currency (with at least ``NORM_SAMPLES`` of them) and a description shorter than
``LITTLE_WORK_CHARS`` — and the buyer's cautions of ``chatbox.cautions`` (free work asked, a
new unverified buyer pushing off the platform), which the chat shows on messages too.
"""

from __future__ import annotations

from statistics import median

from chatbox.cautions import buyer_cautions
from projects.models import Project

FAR_ABOVE = 5
NORM_SAMPLES = 5
LITTLE_WORK_CHARS = 300
FAR_ABOVE_NORM = "The pay is far above what this category usually pays, for little described work."


def _far_above_norm(project: Project) -> bool:
    if project.budget_amount is None or project.budget_kind != "fixed":
        return False
    if len(project.description) >= LITTLE_WORK_CHARS:
        return False
    others = [
        amount
        for amount in Project.objects.filter(
            category=project.category_id,
            budget_kind="fixed",
            budget_currency=project.budget_currency,
            budget_amount__isnull=False,
        )
        .exclude(pk=project.pk)
        .values_list("budget_amount", flat=True)[:500]
        if amount is not None
    ]
    if len(others) < NORM_SAMPLES:
        return False
    return project.budget_amount >= FAR_ABOVE * median(others)


def listing_cautions(project: Project) -> list[str]:
    """Why a provider should be careful with this listing; empty when nothing looks wrong."""
    cautions = [FAR_ABOVE_NORM] if _far_above_norm(project) else []
    return cautions + buyer_cautions(f"{project.title}\n{project.description}", project.buyer)
