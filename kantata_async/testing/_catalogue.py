"""The collections the fake serves with generic behaviour only: one declaration each.

Everything here comes from the facts: fields, includes, orders, routes, and the filters whose
meaning follows from their name and type (`_filters.derive`); every other documented filter
is refused with a 501 naming it, until a declaration gives it a behaviour (as
`_collections.py` does for the people around users). Records are generated for each by
`_fill.py`, and the plain writes (create, update, delete, approve/reject/cancel) served by
`_crud.py`.
"""

from __future__ import annotations

from typing import Any

from ._declare import declare
from ._schema import Collection

__all__ = ["CATALOGUE", "SIDELOADED"]


def served(key: str, tag: str, **options: Any) -> Collection:
    """`key` as the facts describe it, its single ids sent as Kantata sends them (always)."""
    return declare(key, tag=tag, native_ids=None, **options)


CATALOGUE: tuple[Collection, ...] = (
    served("access_group_memberships", "access-group-memberships"),
    served("account_colors", "account-colors"),
    served("account_invitations", "account-invitations"),
    served("account_locations", "account-locations"),
    served("assignments", "assignments"),
    served("billing_milestones", "billing-milestones"),
    served("client_invoice_defaults", "client-invoice-defaults"),
    served("currencies", "currencies"),
    served("private_label", "custom-branding", path="custom_branding"),
    served("custom_field_sets", "custom-field-sets"),
    served("story_allocation_days", "daily-scheduled-hours-story-allocation-days"),
    served("exports", "data-exports"),
    served("estimate_scenario_resources", "estimate-scenario-resources"),
    served("estimate_scenarios", "estimate-scenarios"),
    served("estimates", "estimates"),
    served("subscribed_events", "events"),
    served("exchange_tables", "exchange-tables", path="foreign_exchange/exchange_tables"),
    served("expense_budgets", "expense-budgets"),
    served("expense_categories", "expense-categories"),
    served("expense_report_submissions", "expense-report-submissions"),
    served("expenses", "expenses"),
    served("external_payments", "external-payments"),
    served("followers", "followers", path="story_follows"),
    served("holiday_calendar_associations", "holiday-calendar-associations"),
    served("holiday_calendar_memberships", "holiday-calendar-memberships"),
    served("holiday_calendars", "holiday-calendars"),
    served("holidays", "holidays"),
    served("insights_access_group_memberships", "insights-access-group-memberships"),
    served(
        "account_insights_mappings",
        "insights-dynamic-dashboards",
        path="account_insights_mappings/dynamic",
    ),
    served(
        "insights_report_exports",
        "insights-report-exports",
        path="scheduled_jobs/insights_report_exports",
    ),
    served("insights_reports", "insights-reports"),
    served("invoices", "invoices"),
    served("line_item_locks", "line-item-locks"),
    served("organization_memberships", "organization-memberships"),
    served("organizations", "organizations"),
    served("participations", "participations"),
    served("posts", "posts"),
    served("project_accounting_records", "project-accounting-records"),
    served("project_snapshots", "project-snapshots"),
    served("project_template_additional_tabs", "project-template-additional-tabs"),
    served("project_template_assignments", "project-template-assignments"),
    served("project_template_expense_budgets", "project-template-expense-budgets"),
    served("project_templates", "project-templates"),
    served("rate_card_roles", "rate-card-role-rate-for-a-role"),
    served("rate_card_set_versions", "rate-card-set-version-effective-version-by-date"),
    served("rate_card_sets", "rate-card-sets-group-of-rate-cards"),
    served(
        "rate_card_table_rows",
        "rate-card-table-rows",
        path="rate_card_set_versions/{rate_card_set_version_id}/rate_card_table_rows",
    ),
    served("rate_card_versions", "rate-card-versions"),
    served("rate_cards", "rate-cards-multiple-currencies"),
    served("resource_requests", "resource-requests"),
    served("revenue_recognition_methods", "revenue-recognition-methods"),
    served("status_reports", "status-reports"),
    served("stories", "stories"),
    served("story_dependencies", "story-dependencies"),
    served("story_state_changes", "story-state-changes"),
    served("story_tasks", "story-tasks"),
    served("survey_answers", "survey-answers-legacy"),
    served("survey_questions", "survey-questions-legacy"),
    served("survey_templates", "survey-templates-legacy"),
    served("survey_responses", "surveys-responses-legacy"),
    served("task_status_sets", "task-status-sets"),
    served("custom_task_statuses", "task-statuses"),
    served("time_entries", "time-entries"),
    served("time_off_entries", "time-off-entries"),
    served("timesheet_submissions", "timesheet-submissions"),
    served("user_file_associations", "user-file-associations"),
    served("user_group_memberships", "user-group-memberships"),
    served("vendors", "vendors"),
    served("workspace_allocations", "workspace-allocations"),
    served("workspace_baselines", "workspace-baselines"),
    served("workspace_groups", "workspace-groups"),
    served("workspace_resource_skills", "workspace-resource-skills"),
    served("workspace_resources", "workspace-resources"),
    served("workspace_status_changes", "workspace-status-changes"),
    served("workspaces", "workspaces"),
)

# Records Kantata sends only as the includes of others (no list route): held so that those
# includes are served. Their schemas are in the facts of the tags that include them.
SIDELOADED: tuple[Collection, ...] = (
    declare("additional_items", tag="invoices", schema="AdditionalItem"),
    declare("attachments", tag="posts", schema="Attachments__PostAttachment"),
    declare("baseline_payloads", tag="workspace-baselines", schema="BaselinePayload"),
    declare(
        "estimate_scenario_resource_allocations",
        tag="estimate-scenario-resources",
        schema="EstimateScenarioResourceAllocation",
    ),
    declare("fixed_fee_items", tag="invoices", schema="FixedFeeItem"),
    declare(
        "project_snapshot_assignments",
        tag="project-snapshots",
        schema="Project__Snapshots__Models__ProjectSnapshotAssignment",
    ),
    declare(
        "project_snapshot_custom_field_values",
        tag="project-snapshots",
        schema="Project__Snapshots__Models__ProjectSnapshotCustomFieldValue",
    ),
    declare(
        "project_snapshot_resources",
        tag="project-snapshots",
        schema="Project__Snapshots__Models__ProjectSnapshotResource",
    ),
    declare(
        "project_snapshot_tasks",
        tag="project-snapshots",
        schema="Project__Snapshots__Models__ProjectSnapshotTask",
    ),
    declare("resolutions", tag="expense-report-submissions", schema="Resolution"),
    declare("tags", tag="stories", schema="ActsAsTaggableOn__Tag"),
)
