"""Names for people of what the pages would otherwise show as the hub's internal codes: a
delivery's hook on Activity ("on_assessment_completed" of Lever -> "Write the result to the
ATS"), an audit entry's action ("integration.settings" -> "Integration settings saved") and the
groups of actions the Audit log's filter offers. The codes stay what the JSON API answers and what
the filters submit (scripts and saved links rely on them); the pages show them small, for
developers. A test checks that every event hook and every action the hub writes has a label here."""

from __future__ import annotations

from dataclasses import dataclass

from hub.hookspecs import EVENT_HOOK_LABELS
from hub.runtime import get_runtime
from hub.web.connection_states import CONNECTION_STATES
from hub.web.ui import bp


def hook_label(hook: str, plugin: str | None = None) -> str:
    """What ``plugin`` does when it runs ``hook``, by the plugin's kind (``EVENT_HOOK_LABELS``): the
    hook's own name when it has no label (a hook of an older hub)."""
    labels = EVENT_HOOK_LABELS.get(hook)
    if not labels:
        return hook
    spec = get_runtime().registry.specs.get(plugin or "")
    return labels.get(spec.kind if spec is not None else "") or labels[""]


@bp.app_template_filter("hook_label")
def _hook_label_filter(hook: str, plugin: str | None = None) -> str:
    return hook_label(hook, plugin)


def connection_label(status: str) -> str:
    """The badge's words for a connection state (an unknown state's code, made readable)."""
    return CONNECTION_STATES.get(status, (status.replace("_", " ").capitalize(), ""))[0]


def connection_meaning(status: str) -> str:
    """What a connection state means, as a sentence ("" for a state without one)."""
    return CONNECTION_STATES.get(status, ("", ""))[1]


@dataclass(frozen=True)
class ActionGroup:
    """The actions whose code starts with ``prefix`` ("integration."), and their labels; ``every``
    is the filter's option for all of them."""

    prefix: str
    label: str
    every: str
    actions: dict[str, str]


# every action the hub writes to the audit log (``services.audit``), by group, in the order the
# Audit log's filter offers them
AUDIT_GROUPS = (
    ActionGroup("integration.", "Integrations", "Every integration action", {
        "integration.enable": "Integration enabled",
        "integration.disable": "Integration disabled",
        "integration.settings": "Integration settings saved",
        "integration.connect": "Integration connected",
        "integration.test": "Connection tested",
        "integration.webhooks_setup": "Webhooks registered or checked",
        "integration.revoke": "Integration access revoked",
    }),
    ActionGroup("attachment.", "Pipeline", "Every pipeline action", {
        "attachment.save": "Assessment attached or updated",
        "attachment.detach": "Assessment detached",
        "attachment.backfill": "Candidates already in stage invited",
    }),
    ActionGroup("invitation.", "Invitations", "Every invitation action", {
        "invitation.reinvite": "Candidate re-invited",
        "invitation.cancel": "Invitation cancelled",
    }),
    ActionGroup("delivery.", "Deliveries", "Every delivery action", {
        "delivery.replay": "Delivery replayed",
    }),
    ActionGroup("user.", "Users", "Every user action", {
        "user.sign_in": "Signed in",
        "user.create": "User added",
        "user.role": "Role changed",
        "user.deactivate": "User deactivated",
        "user.activate": "User reactivated",
        "user.password_change": "Own password changed",
        "user.password_reset": "Password reset",
    }),
    ActionGroup("api_token.", "API tokens", "Every API token action", {
        "api_token.create": "API token created",
        "api_token.revoke": "API token revoked",
    }),
)
AUDIT_ACTIONS = {code: label for group in AUDIT_GROUPS for code, label in group.actions.items()}


def action_label(action: str) -> str:
    """An audit action for people; its code when it has no label (an action of an older hub)."""
    return AUDIT_ACTIONS.get(action) or action


def action_filter_label(value: str) -> str:
    """What the Audit log's action filter ``value`` shows: an action's label, a group's option
    ("Every user action"), or, for any other beginning (a link made before the filter was a list),
    "Actions starting with “x”"."""
    if value in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[value]
    for group in AUDIT_GROUPS:
        if value == group.prefix:
            return group.every
    return f"Actions starting with “{value}”"
