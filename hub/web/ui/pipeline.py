"""``/pipeline``: assessments attached to pipeline stages. Attaching is posting -> stage ->
assessment, each read live from the vendors; the posting is chosen with a GET form, so the page
works without JavaScript. Attachments whose stage no longer exists at the source are flagged, and
so are those that would archive a rejected candidate with a reason for hired ones (the source's
archive reasons of ``type`` "hired", which the form does not offer for a thumbs down). Editing an
attachment needs no vendor up: what cannot be read now (the source's postings and stages, the
provider's assessments) is shown as the hub stored it, and its other fields can still be saved."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from marshmallow import ValidationError, fields as mf, missing

from hub import services
from hub.engine import backfill
from hub.entities import ASSESSMENT, SOURCE, SOURCE_ATTACHMENT_OPTIONS, Posting, Stage
from hub.errors import Conflict, HubError, NotFound, ValidationFailed
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Integration
from hub.web import queries
from hub.web.live import (
    LiveError, active_source, plugin_title, assessment_plugins, hired_reason_error, list_archive_reasons, list_assessments,
    list_postings, list_stages, provider_assessments, provider_idle, resolve_attachment, source_attachment_options,
)
from hub.web.permissions import can, require
from hub.web.schemas import AttachmentOptionsSchema, BackfillRunSchema
from hub.web.ui.empty_states import (
    IDLE_STEPS, _integrations_step as integrations_step, _no_source_headline, idle_source,
)
from hub.web.ui.form_messages import some_named
from hub.web.redirects import safe_next
from hub.web.ui.helpers import number_filter, sentence, this_page_url
from hub.web.ui.list_filters import ListArgs, quoted_values, repeated
from hub.web.ui import bp


# the order of the posting select's groups: open postings first (Lever's states; another ATS's own
# words follow, then postings without a state), closed ones last
PIPELINE_PAGE = 50  # attachments a Pipeline page shows (and checks against the source)
POSTING_STATE_ORDER = ("published", "internal", "pending", "draft")
POSTING_STATES_LAST = ("closed", "rejected", "archived")


@dataclass(frozen=True)
class PostingOption:
    id: str
    label: str


def posting_groups(postings) -> list[tuple[str, list[PostingOption]]]:
    """The attach form's postings as ``(group label, options)``: grouped by state, open postings
    first and closed ones last, each group by title; a label adds the posting's location and team
    (what tells apart postings of one title), and, when two labels still read the same, the end of
    its id. A large account has hundreds of postings, most of them closed: in the source's order,
    with the state after each title, the one sought was hard to find (a walk-through)."""
    def label(p) -> str:
        extra = [part for part in (p.location, p.team) if part and part.lower() not in p.title.lower()]
        return " · ".join([p.title, *extra])

    labels = queries.told_apart({p.id: label(p) for p in postings})
    options: dict[str, list[PostingOption]] = {}
    for p in postings:
        options.setdefault((p.state or "").strip().lower(), []).append(PostingOption(p.id, labels[p.id]))

    def rank(state: str) -> tuple[int, str]:
        if state in POSTING_STATE_ORDER:
            return 0, f"{POSTING_STATE_ORDER.index(state):02d}"
        if state in POSTING_STATES_LAST:
            return 3, f"{POSTING_STATES_LAST.index(state):02d}"
        return (2, "") if not state else (1, state)

    return [((state.capitalize() if state else "No state"), sorted(group, key=lambda o: o.label.lower()))
            for state, group in sorted(options.items(), key=lambda item: rank(item[0]))]


def posting_not_open(posting) -> bool:
    """Whether the posting chosen on the attach form is closed (or rejected, archived) at the source:
    the form says so, since an attachment there invites nobody new (a walk-through of a large
    account found attachments to closed postings made without a word)."""
    return (posting.state or "").strip().lower() in POSTING_STATES_LAST


def option_names(workspace_id: int, rows) -> tuple[dict[tuple[str, str], str], dict[str, str], set[str]]:
    """The names to show for the options' ids: (posting id, stage id) -> stage name, and archive
    reason id -> name; and the ids of the archive reasons for hired candidates (flagged when an
    attachment archives with one on a thumbs down). Empty when the source cannot be read or does
    not list them (the id is shown)."""
    stages: dict[tuple[str, str], str] = {}
    reasons: dict[str, str] = {}
    hired: set[str] = set()
    try:
        for row in rows:
            if (row.options or {}).get("move_to_stage_on_thumbs_up"):
                stages.update({(row.posting_id, s.id): s.name for s in list_stages(workspace_id, row.posting_id)})
        if any((row.options or {}).get("archive_reason_on_thumbs_down") for row in rows):
            listed = list_archive_reasons(workspace_id) or []
            reasons = {r.id: r.name for r in listed}
            hired = {r.id for r in listed if r.for_hired}
    except LiveError:
        pass  # the ids are shown; stage_warnings already says the source could not be read
    return stages, reasons, hired


def stage_warnings(workspace_id: int, rows) -> tuple[dict[int, str], str | None]:
    """Attachment id -> warning for stages missing at the source; plus a notice if it could not be checked."""
    warnings: dict[int, str] = {}
    try:
        for row in rows:
            stages = list_stages(workspace_id, row.posting_id)
            if row.stage_id not in {s.id for s in stages}:
                warnings[row.id] = (f"The stage “{row.stage_name}” no longer exists at the source: candidates "
                                    "cannot reach it. Edit the attachment to choose another stage, or detach it.")
    except LiveError as exc:
        return warnings, f"Could not check the stages at the source: {exc.message}"
    return warnings, None


@bp.get("/pipeline")
@require("pipeline.view")
def pipeline():
    """The live attachments, ``PIPELINE_PAGE`` a page (``page``), by posting and stage; ``q``
    keeps those whose posting, stage or assessment name holds it (``queries.matching_attachments``). Only the page's rows are checked
    against the source (a stage gone, an option's names). A value it cannot use (a search too
    long, a page that is no number) is replaced, with a notice (``hub.web.ui.list_filters``)."""
    ws = current_user.workspace_id
    args = ListArgs()
    search = args.text("q", "The search text")
    attached = queries.attachments(ws)  # every one: the banners and Attach are about all of them
    page = queries.page_of(queries.matching_attachments(attached, search) if search else attached,
                           args.page(), PIPELINE_PAGE)
    rows = page.items
    providers = {row.provider for row in attached}
    runtime = get_runtime()
    has_source = runtime.active_source(ws) is not None
    # without a source nothing can be checked, and the page's banner already says why
    warnings, notice = stage_warnings(ws, rows) if rows and has_source else ({}, None)
    stage_names, reason_names, hired_reasons = (option_names(ws, rows) if rows and has_source and notice is None
                                                else ({}, {}, set()))
    return render_template("pipeline/list.html", rows=rows, page=page, search=search, notices=args.notices,
                           back=this_page_url(),
                           any_attached=bool(providers), warnings=warnings, notice=notice,
                           stage_names=stage_names, reason_names=reason_names, hired_reasons=hired_reasons,
                           idle=queries.idle_providers(ws, providers),
                           plugin_title=plugin_title,
                           has_source=has_source,
                           stranded=idle_source(ws) if providers and not has_source else None,
                           has_provider=bool(assessment_plugins(ws)),
                           backfill_unavailable=backfill.unavailable_reason(runtime, ws) if has_source else None)


TRI_STATE = ("remind_on_reentry", "tag_results")  # yes / no / "use the integration's setting"
# the kind of integration that acts on each yes/no option (the source tags the candidate in the ATS;
# the provider reminds): named in the default choice when no integration declares the setting
TRI_STATE_KIND = {"remind_on_reentry": ASSESSMENT, "tag_results": SOURCE}
YES, NO = ("on", "y", "yes", "1", "true"), ("n", "no", "0", "false")
TRI_STATE_ERROR = "Choose Yes, No or the integration's setting."
THRESHOLD_ERROR = "Enter a pass threshold from 0 to 100 (a percent of the maximum score), or leave it empty for none."
# the form's fields in the order it shows them: the error summary lists its errors in this order
FIELD_ORDER = ("posting_id", "stage_id", "assessment", "pass_threshold", "move_to_stage_on_thumbs_up",
               "archive_reason_on_thumbs_down", *TRI_STATE)


def _possessive(title: str) -> str:
    return f"{title}'" if title.endswith("s") else f"{title}'s"


def _current_setting(runtime, integration, name: str) -> bool | None:
    """The integration's current value of its yes/no setting ``name``: as saved, else its schema's
    default. None when its settings schema declares no such yes/no field (or gives no default)."""
    spec = runtime.registry.specs.get(integration.plugin)
    schema_cls = spec.settings_schema if spec is not None else None
    field = schema_cls().fields.get(name) if schema_cls is not None else None
    if not isinstance(field, mf.Boolean) or field.dump_only:
        return None
    value = (integration.settings or {}).get(name)
    if value is None:
        value = field.load_default() if callable(field.load_default) else field.load_default
    return None if value is missing or value is None else bool(value)


def setting_choices(workspace_id: int) -> dict[str, str]:
    """Option -> the text of its "use the integration's setting" choice, saying what that is: the
    enabled source's and assessment providers' integrations whose settings declare a yes/no field
    of the option's name, with its current value ("Use Canditech's setting (currently: No)"; each
    named when several do). When none declares it, the one integration of the kind that acts on it
    is named ("Use Lever's setting"), else none ("Use the integration's setting")."""
    runtime = get_runtime()
    source = runtime.active_source(workspace_id)
    providers = assessment_plugins(workspace_id)
    enabled = {row.plugin: row for row in db.session.scalars(sa.select(Integration).where(
        Integration.workspace_id == workspace_id, Integration.enabled.is_(True)))}
    acting = [plugin for plugin in ([source] if source else []) + providers if plugin in enabled]
    choices = {}
    for name in TRI_STATE:
        current = {plugin: value for plugin in acting
                   if (value := _current_setting(runtime, enabled[plugin], name)) is not None}
        if len(current) == 1:
            [(plugin, value)] = current.items()
            choices[name] = f"Use {_possessive(plugin_title(plugin))} setting (currently: {'Yes' if value else 'No'})"
        elif current:
            choices[name] = "Use the integration's setting (" + ", ".join(
                f"{plugin_title(plugin)}: {'Yes' if value else 'No'}" for plugin, value in current.items()) + ")"
        else:
            of_kind = ([source] if source else []) if TRI_STATE_KIND[name] == SOURCE else providers
            choices[name] = (f"Use {_possessive(plugin_title(of_kind[0]))} setting" if len(of_kind) == 1
                             else "Use the integration's setting")
    return choices


class NotAChoice(ValueError):
    pass


def _tri_state(value) -> bool | None:
    """A yes/no/default choice from the form: None (absent or "") leaves the integration's setting.
    Anything else is not one of the choices the form offers: ``NotAChoice``."""
    value = (value or "").strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    if value:
        raise NotAChoice(value)
    return None


def _tri_state_value(value) -> str:
    """The select's value to show again: "yes", "no", "" (the default), or the bad value as sent."""
    try:
        return {True: "yes", False: "no", None: ""}[_tri_state(value)]
    except NotAChoice:
        return str(value)


def _options_from_form(form) -> tuple[dict, dict[str, list[str]]]:
    raw = {
        "pass_threshold": (form.get("pass_threshold") or "").strip() or None,
        "move_to_stage_on_thumbs_up": (form.get("move_to_stage_on_thumbs_up") or "").strip() or None,
        "archive_reason_on_thumbs_down": (form.get("archive_reason_on_thumbs_down") or "").strip() or None,
    }
    errors: dict[str, list[str]] = {}
    for name in TRI_STATE:
        try:
            choice = _tri_state(form.get(name))
        except NotAChoice:
            errors[name] = [TRI_STATE_ERROR]
            continue
        if choice is not None:  # absent: the plugin falls back to the integration's own setting
            raw[name] = choice
    try:
        options = AttachmentOptionsSchema().load(raw)
    except ValidationError as exc:
        errors.update({k: list(v) if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()})
        if "pass_threshold" in errors:  # the schema's "Must be greater than or equal to 0 ..." names no field
            errors["pass_threshold"] = [THRESHOLD_ERROR]
    return ({}, errors) if errors else (options, {})


def _missing_choices(values: dict) -> dict[str, list[str]]:
    """The required choices left empty, reported with the options' errors (which stop the save before
    ``resolve_attachment`` would say so), so that one submit names every problem."""
    errors = {}
    if not values["stage_id"].strip():
        errors["stage_id"] = ["Choose a stage."]
    if not values["assessment"].strip():
        errors["assessment"] = ["Choose an assessment."]
    return errors


def in_form_order(errors: dict) -> list[tuple[str, list[str]]]:
    """``errors`` (field -> messages) as pairs in the order the form shows its fields, then any
    other field; the form-wide ``_schema`` is left out (the summary shows it on its own)."""
    rank = {name: index for index, name in enumerate(FIELD_ORDER)}
    return sorted(((k, v) for k, v in errors.items() if k != "_schema"), key=lambda item: rank.get(item[0], len(rank)))


def _form_errors(fields: dict[str, list[str]], assessment: str) -> dict[str, list[str]]:
    """``resolve_attachment``'s errors as the form's fields: its ``provider`` and ``assessment_id``
    are both the one assessment choice here."""
    errors = {k: v for k, v in fields.items() if k not in ("provider", "assessment_id")}
    if "provider" in fields or "assessment_id" in fields:
        errors["assessment"] = (["Choose an assessment."] if not assessment.strip()
                                else fields.get("provider", []) + fields.get("assessment_id", []))
    return errors


# the id of each field's control on the attach page: the posting's (step 1) and the attach form's (step 2)
POSTING_STEP_FIELDS = {"posting_id": "posting"}
ATTACH_STEP_FIELDS = {"stage_id": "stage", "assessment": "assessment", "pass_threshold": "pass_threshold",
                      "move_to_stage_on_thumbs_up": "move_to_stage_on_thumbs_up",
                      "archive_reason_on_thumbs_down": "archive_reason_on_thumbs_down",
                      **{name: name for name in TRI_STATE}}


def field_anchors(show_posting_step: bool, show_attach_step: bool,
                  source_options: tuple[str, ...] = SOURCE_ATTACHMENT_OPTIONS) -> dict[str, str]:
    """Field name -> the id of its control, for the fields the page shows: the error summary links
    only to these, and names any other field's problem as plain text (a link to a control that is
    not on the page, e.g. the stage while the source cannot be read, would lead nowhere). The
    options of ``SOURCE_ATTACHMENT_OPTIONS`` are shown only when in ``source_options``."""
    anchors: dict[str, str] = {}
    if show_posting_step:
        anchors.update(POSTING_STEP_FIELDS)
    if show_attach_step:
        anchors.update({name: anchor for name, anchor in ATTACH_STEP_FIELDS.items()
                        if name not in SOURCE_ATTACHMENT_OPTIONS or name in source_options})
    return anchors


@dataclass(frozen=True)
class KeptAssessment:
    """The edited attachment's assessment, offered though its provider did not list it (``value``
    as the select's, ``label``), and ``note``: why the list is short, said at the field."""
    value: str
    label: str
    note: str


def kept_assessment(workspace_id: int, attachment, listed: set[str]) -> KeptAssessment | None:
    """The attachment's current assessment as a choice of its edit form when ``listed`` (the
    values of the assessments read live) does not hold it, or None when it does. Its provider
    disabled, revoked or failing cannot list it, but the other fields can still be saved with it
    (``resolve_attachment`` keeps it unchanged); one its provider no longer offers is shown so that
    the save says so, not "Choose an assessment"."""
    value = f"{attachment.provider}:{attachment.assessment_id}"
    if value in listed:
        return None
    title = plugin_title(attachment.provider)
    named = f"{attachment.assessment_name} — {title}"
    kept = "of its assessments, only the current one is offered. The other fields can still be changed and saved"
    if attachment.provider not in assessment_plugins(workspace_id):
        why = provider_idle(workspace_id, attachment.provider)
        step = IDLE_STEPS.get(why)
        then = (f" {integrations_step(step).removesuffix('.')} to choose another of its assessments." if step
                else f" Another of its assessments can be chosen once {title} lists them again.")
        return KeptAssessment(value, f"{named} (current; {title} {why}, its list cannot be read)",
                              f"{title} {why}, so its list of assessments cannot be read: {kept}.{then}")
    try:
        provider_assessments(workspace_id, attachment.provider)
    except LiveError:  # said above the form (``assessment_errors``)
        return KeptAssessment(value, f"{named} (current; {title} could not be read now)",
                              f"{title} could not be read now, so {kept}; to choose another of its assessments, "
                              "try again later.")
    return KeptAssessment(value, f"{named} (current; {title} no longer offers it)",
                          f"{title} no longer offers the current assessment: choose another, or detach this "
                          "attachment.")


@dataclass(frozen=True)
class KeptPlace:
    """The edited attachment's posting and stage while the source (ATS) cannot be read: shown as
    saved (``posting``, ``stage``: the names the hub stored), with ``note`` saying why they cannot
    be changed now; ``move_to`` and ``archive_reason``: the options' current choice (value, label),
    the only one offered besides none (a new one cannot be checked), or None."""
    posting: Posting
    stage: Stage
    note: str
    move_to: tuple[str, str] | None = None
    archive_reason: tuple[str, str] | None = None


def kept_place(workspace_id: int, attachment, posting: Posting | None = None) -> KeptPlace:
    """The edit form's posting and stage while no source is enabled or it cannot be read: the
    attachment's own, with the names the hub stored (``posting``: the source's, when it could list
    its postings but not the stages). ``resolve_attachment`` saves them unchanged (and refuses
    another), so the assessment and the options can still be changed and saved meanwhile. The
    note names the source and why (``idle_source`` for none enabled, ``queries.idle_providers``
    for one not connected), and the next step for the viewer's role."""
    source = get_runtime().active_source(workspace_id)
    kept = ("so the posting and the stage cannot be changed: they stay as saved. The assessment and the options "
            "can still be changed and saved")
    if source is None:
        idle = idle_source(workspace_id)
        title, why, step = idle["title"], idle["why"], idle["step"]
        who = f"{title}, your ATS, {why}" if idle["plugin"] else _no_source_headline(idle)
    else:
        title = plugin_title(source)
        why = queries.idle_providers(workspace_id, [source]).get(source)
        step = IDLE_STEPS.get(why)
        who = f"{title} {why}"
    if source is not None and step is None:  # connected, but failing now
        note = (f"{title} could not be read now, {kept}; to change the posting or the stage, try again once {title} "
                "answers.")
    else:
        step = re.sub(r"\bit\b", lambda _: title, step) if title else step  # "enable it": "enable Lever"
        note = (f"{who}, {kept}. {integrations_step(step).removesuffix('.')}; then the posting and the stage can "
                "be changed.")
    if posting is None or posting.id != attachment.posting_id:
        posting = Posting(attachment.posting_id, attachment.posting_name)
    options = attachment.options or {}
    move_to = options.get("move_to_stage_on_thumbs_up")
    reason = options.get("archive_reason_on_thumbs_down")
    return KeptPlace(
        posting, Stage(attachment.stage_id, attachment.stage_name), note,
        move_to=(move_to, f"{attachment.stage_name} (current)" if move_to == attachment.stage_id
                 else f"{move_to} (current; the stage's name cannot be read now)") if move_to else None,
        archive_reason=(reason, f"{reason} (current; the reason's name cannot be read now)") if reason else None)


def _keep_place(context: dict, values: dict, place: KeptPlace) -> None:
    """The attach page's ``context`` and form ``values`` for an edit whose source cannot be read:
    its posting and stage (and the stage to move to, the archive reason) as saved, whatever the
    address or a form sent before the source failed asked for, since only those can be saved now."""
    context.update(kept_place=place, posting=place.posting, stages=[place.stage],
                   move_to_stages=[place.move_to] if place.move_to else [], archive_reasons=None, hired_reasons={})
    values["posting_id"] = place.posting.id
    kept = {"stage_id": place.stage.id, "move_to_stage_on_thumbs_up": place.move_to[0] if place.move_to else "",
            "archive_reason_on_thumbs_down": place.archive_reason[0] if place.archive_reason else ""}
    for name, value in kept.items():
        if values.get(name) not in (None, "", value):  # none chosen stays so (and its error, if any)
            values[name] = value


def _attach_page(attachment=None, *, values: dict | None = None, errors: dict | None = None, status: int = 200):
    """The attach (or edit) page: live postings, and for the chosen posting its stages and the assessments.
    Step 1 (the posting) is shown while the source can be read; step 2 (the attach form) once a posting
    is chosen that the source knows. An edit while the source cannot be read (none enabled, or it
    fails) keeps its posting and stage as saved (``kept_place``): its other fields can be saved."""
    ws = current_user.workspace_id
    values = dict(values or {})
    posting_id = values.get("posting_id") or ""
    context = {"attachment": attachment, "values": values, "errors": errors or {}, "postings": [],
               "stages": [], "assessments": [], "source_error": None, "assessment_errors": [],
               "no_source": False, "no_provider": False, "posting": None, "archive_reasons": None,
               "hired_reasons": {}, "setting_choices": {}, "kept_assessment": None, "kept_place": None,
               # the options the source acts on: the form shows only these (IntegrationSpec.attachment_options)
               "source_options": source_attachment_options(ws)}
    try:
        active_source(ws)
    except LiveError:
        context["no_source"] = True
    if not assessment_plugins(ws):
        context["no_provider"] = True
    if not context["no_source"]:
        try:
            context["postings"] = list_postings(ws)
            context["posting"] = next((p for p in context["postings"] if p.id == posting_id), None)
            if posting_id and context["posting"] is None:
                context["errors"].setdefault("posting_id", ["This posting does not exist (any more) at the source."])
            if context["posting"] is not None:
                context["stages"] = list_stages(ws, posting_id)
        except LiveError as exc:
            context["source_error"] = exc.message
        if context["posting"] is not None and context["source_error"] is None:
            try:
                context["archive_reasons"] = list_archive_reasons(ws)
            except LiveError:  # the reason is then typed (and checked when saved, if the source answers)
                context["archive_reasons"] = None
        if context["archive_reasons"] is not None:  # a thumbs down archives a rejected candidate: no hired reason
            reasons = context["archive_reasons"]
            context["hired_reasons"] = {r.id: r.name for r in reasons if r.for_hired}
            context["archive_reasons"] = [r for r in reasons if not r.for_hired]
            chosen = values.get("archive_reason_on_thumbs_down")
            if chosen in context["hired_reasons"]:  # saved before hired reasons were left out: said, not kept quietly
                context["errors"].setdefault("archive_reason_on_thumbs_down",
                                             [hired_reason_error(context["hired_reasons"][chosen])])
    if attachment is not None and (context["no_source"] or context["source_error"] is not None):
        _keep_place(context, values, kept_place(ws, attachment, context["posting"]))
    else:
        context["move_to_stages"] = [(st.id, st.name) for st in context["stages"]]
    if context["posting"] is not None:
        context["setting_choices"] = setting_choices(ws)
    if context["posting"] is not None and not context["no_provider"]:
        found, problems = list_assessments(ws)
        runtime = get_runtime()
        context["assessments"] = [(f"{plugin}:{a.id}", a, runtime.registry.spec(plugin).title) for plugin, a in found]
        context["assessment_errors"] = problems
    if context["posting"] is not None and attachment is not None:
        context["kept_assessment"] = kept_assessment(ws, attachment, {value for value, _, _ in context["assessments"]})
    context["show_posting_step"] = not context["no_source"] and context["source_error"] is None
    context["show_attach_step"] = context["posting"] is not None
    anchors = field_anchors(context["show_posting_step"], context["show_attach_step"], context["source_options"])
    # the error summary says the save failed only after one was tried (a POST); a link's bad
    # posting_id (GET) asks to check the form
    return render_template("pipeline/attach.html", field_errors=in_form_order(context["errors"]),
                           field_anchors=anchors, submitted=request.method == "POST", posting_groups=posting_groups,
                           posting_not_open=posting_not_open,
                           **context), status


def _save(attachment_id: int | None):
    ws = current_user.workspace_id
    form = request.form
    values = {key: form.get(key, "") for key in ("posting_id", "stage_id", "assessment", "pass_threshold",
                                                  "move_to_stage_on_thumbs_up", "archive_reason_on_thumbs_down")}
    for name in TRI_STATE:
        values[name] = _tri_state_value(form.get(name))
    attachment = queries.get_attachment(ws, attachment_id) if attachment_id else None
    options, errors = _options_from_form(form)
    hired = _hired_choice(ws, values["archive_reason_on_thumbs_down"])
    if hired:
        errors["archive_reason_on_thumbs_down"] = [hired]
    if errors:
        errors.update(_missing_choices(values))
    provider, _, assessment_id = (values["assessment"] or "").partition(":")
    if not errors:
        try:
            resolved = resolve_attachment(ws, values["posting_id"], values["stage_id"], provider, assessment_id, options,
                                          attachment.options if attachment is not None else None, current=attachment)
            row = services.save_attachment(ws, resolved, current_user, attachment_id=attachment_id)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = (_form_errors(exc.fields, values["assessment"]) if exc.fields
                      else {"_schema": [sentence(exc.message)]})
        except Conflict as exc:
            db.session.rollback()
            errors = {"_schema": [sentence(exc.message)]}
        except LiveError as exc:
            errors = {"_schema": [sentence(exc.message)]}
        else:
            if attachment_id:
                flash(f"{row.assessment_name} on “{row.stage_name}” of {row.posting_name} updated.", "success")
            else:
                flash(attached_message(ws, row), "success")
            return redirect(url_for("ui.pipeline"))
    # no flash: the page's error summary says it, and takes the focus (static/hub.js)
    return _attach_page(attachment, values=values, errors=errors, status=422)


def _hired_choice(workspace_id: int, reason_id: str) -> str | None:
    """The error for an archive reason on thumbs down that the source says is for hired candidates,
    or None (none chosen, another reason, or the source cannot say: the save checks what it can)."""
    reason_id = (reason_id or "").strip()
    if not reason_id:
        return None
    try:
        reasons = list_archive_reasons(workspace_id) or []
    except LiveError:
        return None
    found = next((r for r in reasons if r.id == reason_id), None)
    return hired_reason_error(found.name) if found is not None and found.for_hired else None


def attached_message(workspace_id: int, row) -> Markup:
    """The flash after attaching: what was attached, and that the candidates already in the stage
    are not invited by it, with the way to invite them (the backfill) where the source offers it."""
    text = Markup("{} attached to “{}” of {}. Candidates already in that stage are not invited").format(
        row.assessment_name, row.stage_name, row.posting_name)
    if backfill.unavailable_reason(get_runtime(), workspace_id) is not None:
        return text + ": only those who enter it from now on are."
    return text + Markup(': to invite them, use <a href="{}" id="attached-backfill-link">Invite candidates already '
                         'in stage</a>.').format(url_for("ui.pipeline_backfill", attachment_id=row.id))


def _values_of(row) -> dict:
    options = row.options or {}
    return {"posting_id": row.posting_id, "stage_id": row.stage_id, "assessment": f"{row.provider}:{row.assessment_id}",
            "pass_threshold": number_filter(options["pass_threshold"]) if options.get("pass_threshold") is not None else "",
            "move_to_stage_on_thumbs_up": options.get("move_to_stage_on_thumbs_up", ""),
            "archive_reason_on_thumbs_down": options.get("archive_reason_on_thumbs_down", ""),
            **{name: {True: "yes", False: "no"}.get(options.get(name), "") for name in TRI_STATE}}


@bp.route("/pipeline/new", methods=["GET", "POST"])
@require("pipeline.manage")
def pipeline_new():
    if request.method == "POST":
        return _save(None)
    posting_id, errors = _posting_in_query()
    return _attach_page(values={"posting_id": posting_id or ""}, errors=errors)


@bp.route("/pipeline/<int:attachment_id>/edit", methods=["GET", "POST"])
@require("pipeline.manage")
def pipeline_edit(attachment_id: int):
    row = queries.get_attachment(current_user.workspace_id, attachment_id)
    if request.method == "POST":
        return _save(attachment_id)
    values = _values_of(row)
    posting_id, errors = _posting_in_query()
    if posting_id:
        values["posting_id"] = posting_id
    return _attach_page(row, values=values, errors=errors)


def _posting_in_query() -> tuple[str | None, dict[str, list[str]]]:
    """The attach page's ``posting_id`` from its address (a link to a posting's stages, or
    **Show stages** sent), and the form's errors: given more than once, neither is used (a new
    attachment has no posting chosen, an edited one keeps its own) and the posting's field says so,
    as it says of a posting the source does not know, rather than one of them taken silently."""
    values = repeated("posting_id")
    if values is None:
        return request.args.get("posting_id"), {}
    return None, {"posting_id": [f"The address gives more than one posting ({quoted_values(values)}, as "
                                 "posting_id): choose the posting here."]}


@bp.route("/pipeline/<int:attachment_id>/detach", methods=["GET", "POST"])
@require("pipeline.manage")
def pipeline_detach(attachment_id: int):
    """Ask, then detach; both lead back to the Pipeline list as it was (``next``: its search and page)."""
    row = queries.get_attachment(current_user.workspace_id, attachment_id)
    # a ``next`` given more than once names no one page to go back to: the list, as for one not safe
    nexts = request.values.getlist("next")
    back = (safe_next(nexts[0], "/pipeline") if len(nexts) == 1 else None) or url_for("ui.pipeline")
    if request.method == "GET":
        return render_template("pipeline/detach.html", row=row, back=back)
    services.detach(current_user.workspace_id, attachment_id, current_user)
    flash(f"{row.assessment_name} is detached from “{row.stage_name}”. Candidates entering that stage are no "
          "longer invited; invitations already sent are kept.", "success")
    return redirect(back)


# --------------------------------------------------------------------------- backfill


@bp.get("/pipeline/<int:attachment_id>/backfill")
@require("pipeline.manage")
def pipeline_backfill(attachment_id: int):
    """How many candidates are in the attachment's stage without an invitation for it (read live
    from the source), and the button that invites them (``hub.engine.backfill``)."""
    ws = current_user.workspace_id
    row = queries.get_attachment(ws, attachment_id)
    runtime = get_runtime()
    unavailable = backfill.unavailable_reason(runtime, ws)
    census, error = None, None
    if unavailable is None:
        try:
            census = backfill.census(runtime, ws, attachment_id)
        except NotFound:
            raise
        except HubError as exc:  # the source failed, or too many candidates: said on the page
            db.session.rollback()
            error = sentence(exc.message)
    return render_template("pipeline/backfill.html", row=row, census=census, unavailable=unavailable, error=error,
                           plugin_title=plugin_title)


def _expected(raw: str | None) -> int | None:
    """The form's ``expected`` (the count of candidates to invite the page showed), checked like
    the API's; None when the form has none (the page before this field existed)."""
    if raw is None:
        return None
    # a long digit string goes to the schema as it is (refused there): int() of one over 4,300 digits raises
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else raw
    try:
        return BackfillRunSchema().load({"expected": value})["expected"]
    except ValidationError as exc:
        raise ValidationFailed("The count of candidates you confirmed (field expected) is not a whole number of "
                               "0 or more. Open the page again and review the list.", exc.messages) from None


@bp.post("/pipeline/<int:attachment_id>/backfill")
@require("pipeline.manage")
def pipeline_backfill_run(attachment_id: int):
    """Queue the invitations the page offered; if the stage filled since it was shown (more than
    ``expected`` candidates to invite now), show the page again with the new counts (409)."""
    ws = current_user.workspace_id
    row = queries.get_attachment(ws, attachment_id)
    expected = _expected(request.form.get("expected"))
    try:
        outcome = backfill.run(get_runtime(), ws, attachment_id, current_user, expected=expected)
    except NotFound:
        raise
    except backfill.StageChanged as exc:
        db.session.rollback()
        return render_template("pipeline/backfill.html", row=row, census=exc.census, unavailable=None,
                               error=None, changed=sentence(exc.message), plugin_title=plugin_title), 409
    except HubError as exc:
        db.session.rollback()
        flash(sentence(exc.message), "error")
    else:
        flash(backfill_done_message(row, outcome), "success")
    return redirect(url_for("ui.pipeline_backfill", attachment_id=attachment_id))


def backfill_done_message(row, outcome: backfill.Outcome) -> Markup:
    """The backfill's outcome (``Outcome.message``), naming the candidates queued (the first few,
    ``some_named``, by the names the source gave) and, for those who may see Candidates, a link
    to the attachment's posting there, where their invitations show as they are sent."""
    text = Markup("{}").format(outcome.message())
    queued = outcome.queued_candidates()
    if queued:
        text += Markup(" Queued: {}.").format(some_named([c.name or c.opportunity_id for c in queued], len(queued)))
        if can("candidates.view"):
            text += Markup(' <a href="{}" id="backfill-follow">Follow their invitations on Candidates</a>.').format(
                url_for("ui.candidates", posting=row.posting_id))
    return text
