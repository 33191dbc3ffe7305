"""Writing assessment outcomes back to Lever, exactly once per effect.

Each effect (a note, a tag, a stage move, an archive) has a record in ``ctx.records`` named
``<kind>:<external reference>[:<detail>]`` (the reference is the invitation's, e.g.
``hub-inv-12``), written after Lever confirmed it; a delivery that runs again finds the record and
skips. A note is the one effect that is not idempotent at Lever, so before posting it an
``...:attempt`` record is written; if a later run finds an attempt without a note id, the earlier
POST may have succeeded without us learning it (a timeout, a crash), so the opportunity's notes are
searched for the hub's marker (``[ats-hub:hub-inv-12]``) before posting again. An error answer
from Lever (4xx) means nothing was created, so the attempt record is removed again.

A 404 to a write does not by itself mean the candidate is gone: Lever answers 404 as well for a
``perform_as`` user, a stage or an archive reason it does not know. The opportunity is read again:
only when it no longer exists is the write skipped as "deleted"; otherwise the timeline and the
delivery (dead, replayable once fixed) say what Lever refused, in Lever's words (``LeverRefused``).

Records hold Lever ids and timestamps only, no personal data.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone, tzinfo
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.entities import (
    FAILED,
    THUMBS_DOWN,
    THUMBS_UP,
    AssessmentResult,
    CandidateDeleted,
    Invitation,
    InvitationProgress,
    Verdict,
    parse_external_reference,
)
from hub.errors import Deferred, PermanentError

from . import readapi
from .client import LeverAPIError, LeverClient, LeverNotFound, path
from .readapi import store_record
from .settings import LeverSettings

NOT_SENT_TAG = "Assessment not sent"
VERDICT_WORDS = {THUMBS_UP: "thumbs up", THUMBS_DOWN: "thumbs down"}
DEFER_SECONDS = 5.0

STAGE_MOVE = "PUT /opportunities/:id/stage"
ARCHIVE = "PUT /opportunities/:id/archived"
EFFECTS = {  # what a write is, in words, by its endpoint label (client.endpoint_label)
    "POST /opportunities/:id/notes": "the note",
    "POST /opportunities/:id/addTags": "the tags",
    "POST /opportunities/:id/removeTags": "the removal of a tag",
    STAGE_MOVE: "the stage move",
    ARCHIVE: "the archiving",
}
PERFORM_AS_HINT = "check “Write as Lever user” (perform_as) in the hub's Lever settings"
STAGE_HINT = "check “On thumbs up, move to stage” in the assessment's options on the Pipeline page"
REASON_HINT = "check “On thumbs down, archive with reason” in the assessment's options on the Pipeline page"


def marker(reference: str, kind: str | None = None) -> str:
    return f"[ats-hub:{reference}]" if kind is None else f"[ats-hub:{reference}:{kind}]"


def provider_title(provider: str) -> str:
    return provider.replace("_", " ").replace("-", " ").title() if provider else "Assessment"


# --------------------------------------------------------------------------- what a recruiter reads
# Lever's note ``value`` is a plain string (lever.md §3.6): no markup, no escaping; line breaks
# separate the note's lines. Names and reasons come from vendors, so each is made one line.

MAX_NAME_CHARS = 300  # an assessment name longer than this is shortened, ending in "…"
MAX_REASON_CHARS = 1000  # likewise a failure's reason
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")  # whitespace (line breaks, tabs) and control characters
# "@name" in a note's value mentions a Lever user, who is notified (lever.md §3.6): an "@" that
# starts a word in a vendor's text is written as the full-width "＠", which reads the same and
# mentions no one. An address's "@" (after a letter or digit: jane@acme.test) is left as it is.
_MENTION = re.compile(r"(?<![\w.+-])@(?=\w)")
SAFE_AT = "\uff20"
UTC_NAMES = ("UTC", "Etc/UTC")


def one_line(text: Any, limit: int) -> str:
    """``text`` on one line (each run of whitespace or control characters one space), at most
    ``limit`` characters, mentioning no Lever user (an "@" that starts a word becomes "＠")."""
    flat = _MENTION.sub(SAFE_AT, _BREAKS.sub(" ", str(text or ""))).strip()
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def _number(value: float) -> str:
    """At most two decimals, cut toward zero, never rounded up: 39.998 is "39.99" ("40 / 50" would
    sit beside "(79.9%)" and "Below the pass threshold (80%)"). The hundredths are rounded to four
    decimals before they are cut, so that float noise (66.6 * 100 = 6659.999999999999) is not cut
    to the figure below."""
    value = float(value)
    if not value.is_integer():
        value = math.trunc(round(value * 100, 4)) / 100
    return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _percent_of(score: float, max_score: float) -> float:
    """The score as a percent of the maximum, rounded to six decimals (29 of 100 is 29, not
    28.999999999999996); divided first, so a huge score within its scale cannot overflow."""
    return round(score / max_score * 100, 6)


def _percent(score: float, max_score: float) -> str:
    """The percent of the maximum to one decimal, cut rather than rounded: 79.96 is "79.9%", never
    "80%" beside "Below the pass threshold (80%)", and only full marks are "100%"."""
    return f"{_number(math.floor(_percent_of(score, max_score) * 10) / 10)}%"


def _in_scale(score: float, max_score: float | None) -> bool:
    return not max_score or 0 <= score <= max_score


def score_line(score: float | None, max_score: float | None, provider: str = "the provider") -> str:
    if score is None:
        return f"Score: not reported by {provider}"
    if max_score and not _in_scale(score, max_score):
        return f"Score: {_number(score)} (outside {provider}'s scale of 0 to {_number(max_score)}; check the report)"
    if max_score:
        return f"Score: {_number(score)} / {_number(max_score)} ({_percent(score, max_score)})"
    return f"Score: {_number(score)}"


def pass_line(score: float | None, max_score: float | None, threshold: Any) -> str | None:
    """Whether the score reaches the attachment's pass threshold (a percent of the maximum); None
    without a threshold, a score or a maximum, or for a score outside its scale."""
    if score is None or not max_score or not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        return None
    if not _in_scale(score, max_score):
        return None
    reached = _percent_of(score, max_score) >= threshold
    return f"{'Passed' if reached else 'Below'} the pass threshold ({_number(threshold)}%)"


def report_line(report_url: str | None, provider: str) -> str:
    return f"Report: {report_url}" if report_url else f"Report: no link given by {provider}; open the results in {provider}"


def time_zone(name: str | None) -> tzinfo:
    """The zone named by the setting ``note_time_zone``; UTC for UTC, none, or a name this machine's
    time zone database does not know (the setting is checked on save, the database may differ)."""
    if not name or name in UTC_NAMES:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the database ("Europe")
        return timezone.utc


def note_time(value: datetime | None, zone_name: str | None = None) -> str | None:
    """``2026-03-09 14:05 UTC``, or in a named zone with its offset then:
    ``2026-03-09 10:05 America/New_York (UTC-04:00)``. A naive ``value`` is taken as UTC."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    zone = time_zone(zone_name)
    if zone is timezone.utc:
        return f"{aware.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"
    local = aware.astimezone(zone)
    offset = local.strftime("%z") or "+0000"
    return f"{local:%Y-%m-%d %H:%M} {zone_name} (UTC{offset[:3]}:{offset[3:5]})"


def result_text(invitation: Invitation, provider: str, score: float | None, max_score: float | None,
                threshold: Any, completed_at: datetime | None, report_url: str | None,
                zone_name: str | None = None) -> str:
    """The result note, without its marker line."""
    lines = [f"{provider} assessment completed: {one_line(invitation.assessment_name, MAX_NAME_CHARS)}",
             score_line(score, max_score, provider)]
    passed = pass_line(score, max_score, threshold)
    if passed:
        lines.append(passed)
    when = note_time(completed_at, zone_name)
    if when:
        lines.append(f"Completed: {when}")
    lines.append(report_line(report_url, provider))
    return "\n".join(lines)


def verdict_text(invitation: Invitation, provider: str, words: str, decided_at: datetime | None,
                 zone_name: str | None = None) -> str:
    """The verdict note, without its marker line. (Who decided: no provider tells the hub.)"""
    text = f"{provider} verdict on {one_line(invitation.assessment_name, MAX_NAME_CHARS)}: {words}"
    when = note_time(decided_at, zone_name)
    return f"{text}\nDecided: {when}" if when else text


# --------------------------------------------------------------------------- once-only effects


def _note_id(body: Any) -> str | None:
    """``{"data": {"noteId"}}`` per Lever's docs, or a full note object (lever.md §3.6 UNCERTAIN)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        data = data["data"]
    if not isinstance(data, Mapping):
        return None
    value = data.get("noteId") or data.get("id")
    return str(value) if value else None


def _note_texts(note: Mapping[str, Any]) -> list[str]:
    texts = [note.get("value"), note.get("text")]
    for field in note.get("fields") or []:
        if isinstance(field, Mapping):
            texts.append(field.get("value"))
    return [t for t in texts if isinstance(t, str)]


def find_note(client: LeverClient, opportunity_id: str, mark: str) -> str | None:
    for note in client.paginate(path("opportunities", opportunity_id, "notes")):
        if any(mark in text for text in _note_texts(note)):
            return str(note.get("id") or "found")
    return None


def write_note_once(ctx, client: LeverClient, opportunity_id: str, key: str, mark: str,
                    text: str) -> tuple[str, bool]:
    """Post ``text`` + ``mark`` as a note unless already done; returns ``(note id, written now)``."""
    done = ctx.records.get(key)
    if isinstance(done, Mapping) and done.get("noteId"):
        return str(done["noteId"]), False
    attempt_key = key + ":attempt"
    if ctx.records.get(attempt_key) is not None:
        found = find_note(client, opportunity_id, mark)
        if found:
            store_record(ctx.records, key, {"noteId": found, "recovered": True, "at": time.time()})
            ctx.records.delete(attempt_key)
            return found, True
    store_record(ctx.records, attempt_key, {"at": time.time()})
    try:
        body = client.request("POST", path("opportunities", opportunity_id, "notes"),
                              json={"value": f"{text}\n{mark}"}, perform_as=True)
    except LeverAPIError as exc:
        if exc.status >= 400:  # Lever answered an error: no note was created, nothing to look for later
            ctx.records.delete(attempt_key)
        # a redirect not followed (303 See Other: the POST was handled, its result elsewhere) may have
        # written it: the attempt stays, so a replay looks for the note before writing it again
        raise
    note_id = _note_id(body) or "unknown"
    store_record(ctx.records, key, {"noteId": note_id, "at": time.time()})
    ctx.records.delete(attempt_key)
    return note_id, True


def tag_once(ctx, client: LeverClient, opportunity_id: str, key: str, tags: list[str],
             remove: list[str] | None = None) -> bool:
    """Add ``tags`` (and remove ``remove``) unless already done; True if done now."""
    if ctx.records.get(key) is not None:
        return False
    if remove:
        client.request("POST", path("opportunities", opportunity_id, "removeTags"),
                       json={"tags": remove}, perform_as=True, idempotent=True)
    client.request("POST", path("opportunities", opportunity_id, "addTags"),
                   json={"tags": tags}, perform_as=True, idempotent=True)
    store_record(ctx.records, key, {"tags": tags, "at": time.time()})
    return True


def move_once(ctx, client: LeverClient, invitation: Invitation, stage_id: str) -> bool:
    """Move the opportunity to ``stage_id`` once. The move makes Lever send a stage-change webhook;
    the record (and the invitation's uniqueness per attachment) keeps it from looping."""
    key = f"move:{invitation.external_reference}"
    if ctx.records.get(key) is not None:
        return False
    state = readapi.current_state(client, invitation.opportunity_id)  # the PUT may have happened already
    moved = False
    if state is not None:
        stage, archived = state
        if stage != stage_id and not archived:
            client.request("PUT", path("opportunities", invitation.opportunity_id, "stage"),
                           json={"stage": stage_id}, perform_as=True)
            moved = True
    store_record(ctx.records, key, {"stage": stage_id, "moved": moved, "at": time.time()})
    if moved:
        ctx.invitations.note(invitation.id, "stage_moved", "moved in Lever to stage “{stage}” on thumbs up",
                             refs={"stage": stage_id})
    return moved


def archive_once(ctx, client: LeverClient, invitation: Invitation, reason_id: str) -> bool:
    key = f"archive:{invitation.external_reference}"
    if ctx.records.get(key) is not None:
        return False
    state = readapi.current_state(client, invitation.opportunity_id)
    archived_now = False
    if state is not None and not state[1]:
        client.request("PUT", path("opportunities", invitation.opportunity_id, "archived"),
                       json={"reason": reason_id}, perform_as=True)
        archived_now = True
    store_record(ctx.records, key, {"reason": reason_id, "archived": archived_now, "at": time.time()})
    if archived_now:
        ctx.invitations.note(invitation.id, "archived", "archived in Lever (reason: {archive_reason}) on thumbs down",
                             refs={"archive_reason": reason_id})
    return archived_now


# --------------------------------------------------------------------------- refusals


class LeverRefused(PermanentError):
    """Lever answered 404 to a write on an opportunity that still exists: a setting or an option
    names something Lever does not have (the ``perform_as`` user, a stage, an archive reason).
    Retrying cannot help; the delivery is dead with this message and can be replayed once fixed."""


def _hint(exc: LeverNotFound, settings: LeverSettings, options: Mapping[str, Any]) -> str:
    """What the admin should check: the settings or options the refused request used, narrowed to
    the one whose id Lever's message names when it names one."""
    used = []
    if settings.perform_as:
        used.append((settings.perform_as, PERFORM_AS_HINT))
    if exc.endpoint == STAGE_MOVE and options.get("move_to_stage_on_thumbs_up"):
        used.append((str(options["move_to_stage_on_thumbs_up"]), STAGE_HINT))
    if exc.endpoint == ARCHIVE and options.get("archive_reason_on_thumbs_down"):
        used.append((str(options["archive_reason_on_thumbs_down"]), REASON_HINT))
    named = [hint for ident, hint in used if ident in (exc.lever_message or "")]
    hints = named or [hint for _, hint in used]
    return " and ".join(hints) if hints else "check the Lever connection's settings"


def refusal_message(exc: LeverNotFound, settings: LeverSettings, options: Mapping[str, Any],
                    replay: str = "the delivery") -> str:
    """``Lever refused the note: users user-typo was not found; check “Write as Lever user” ...,
    then replay the delivery on the Activity page.`` (``replay`` names what to replay.)"""
    what = EFFECTS.get(exc.endpoint, f"the request {exc.endpoint}")
    said = exc.lever_message or exc.code
    return f"Lever refused {what}: {said}; {_hint(exc, settings, options)}, then replay {replay} on the Activity page."


def opportunity_gone_or_refused(ctx, client: LeverClient, settings: LeverSettings, invitation: Invitation,
                                exc: LeverNotFound) -> None:
    """Tell a 404 about the opportunity from one about something a write names. Returns when the
    opportunity no longer exists in Lever (the caller treats the candidate as deleted). Otherwise
    adds a ``lever_refused`` line to the invitation's timeline and raises ``LeverRefused``."""
    if readapi.current_state(client, invitation.opportunity_id) is None:
        return
    message = refusal_message(exc, settings, _options(ctx, invitation))
    ctx.invitations.note(invitation.id, "lever_refused", message)
    raise LeverRefused(message) from exc


# --------------------------------------------------------------------------- hooks


def _options(ctx, invitation: Invitation) -> Mapping[str, Any]:
    attachment = ctx.attachments.get(invitation.attachment_id)
    return attachment.options if attachment is not None else {}


def assessment_completed(ctx, client: LeverClient, settings: LeverSettings, result: AssessmentResult) -> None:
    invitation = ctx.invitations.get(result.invitation_id)
    if invitation is None:
        ctx.log.warning("assessment result for unknown invitation %s: nothing to write", result.invitation_id)
        return
    ref = invitation.external_reference
    provider = provider_title(invitation.provider)
    score = result.score if result.score is not None else invitation.score
    max_score = result.max_score if result.max_score is not None else invitation.max_score
    report = result.report_url or invitation.report_url
    # the threshold recorded with the result, so the note says what the hub's page says
    threshold = invitation.pass_threshold if invitation.completed_at else _options(ctx, invitation).get("pass_threshold")
    text = result_text(invitation, provider, score, max_score, threshold,
                       result.completed_at or invitation.completed_at, report, settings.note_time_zone)
    try:
        note_id, written = write_note_once(ctx, client, invitation.opportunity_id, f"note:{ref}", marker(ref), text)
        if written:
            ctx.invitations.note(invitation.id, "note_written", "note with the result written to Lever",
                                 refs={"ats_note": note_id})
            ctx.records.delete(f"note-refused:{ref}")
        if _options(ctx, invitation).get("tag_results", settings.tag_results):
            tag_once(ctx, client, invitation.opportunity_id, f"tag:{ref}:completed", [f"{provider}: completed"])
    except LeverNotFound as exc:
        try:
            opportunity_gone_or_refused(ctx, client, settings, invitation, exc)
        except LeverRefused:  # the verdict, waiting for this note, says why it waits
            store_record(ctx.records, f"note-refused:{ref}", {"message": refusal_message(
                exc, settings, _options(ctx, invitation), replay="the note's delivery"), "at": time.time()})
            raise
        store_record(ctx.records, f"note:{ref}", {"noteId": None, "skipped": "opportunity not found",
                                                  "at": time.time()})
        ctx.invitations.note(invitation.id, "note_skipped", "the candidate no longer exists in Lever")


def _verdict_shown(ctx, ref: str) -> tuple[str | None, int]:
    """The verdict this hub last wrote to Lever for ``ref``, and how many it has written (record
    ``verdict:<ref>``). Before that record existed, each verdict had its own records
    (``verdict-note:<ref>:<verdict>``): the later of them is the one shown."""
    record = ctx.records.get(f"verdict:{ref}")
    if isinstance(record, Mapping):
        return record.get("verdict"), int(record.get("n") or 0)
    legacy = [(float(found.get("at") or 0), value) for value in VERDICT_WORDS
              if isinstance(found := ctx.records.get(f"verdict-note:{ref}:{value}"), Mapping)]
    return (max(legacy)[1], len(legacy)) if legacy else (None, 0)


def _verdict_write(ctx, ref: str, decision: str, written_before: int) -> int:
    """The number ``n`` of this verdict's write, reserved with the verdict (record
    ``verdict-pending:<ref>``) before anything is written. The same verdict again (a retry, a
    replay once a refusal is fixed) resumes its unfinished write; another verdict after an
    unfinished one takes the next number, so its tag and note are written even when Lever still
    has the unfinished one's (thumbs up written, its stage move refused, then thumbs down)."""
    key = f"verdict-pending:{ref}"
    pending = ctx.records.get(key)
    if isinstance(pending, Mapping) and int(pending.get("n") or 0) > written_before:
        if pending.get("verdict") == decision:
            return int(pending["n"])
        n = int(pending["n"]) + 1
    else:
        n = written_before + 1
    store_record(ctx.records, key, {"verdict": decision, "n": n, "at": time.time()})
    return n


def _other_verdict_begun(ctx, ref: str, decision: str, written_before: int) -> bool:
    """Whether a write of another verdict began after the last one finished (``verdict-pending``):
    its tag and note may be in Lever (thumbs up written, thumbs down's archive refused after its
    tag and note, then thumbs up again), so the record of the last finished write no longer says
    what Lever shows."""
    pending = ctx.records.get(f"verdict-pending:{ref}")
    return (isinstance(pending, Mapping) and int(pending.get("n") or 0) > written_before
            and pending.get("verdict") != decision)


def _adopt_unkeyed_write(ctx, client: LeverClient, opportunity: str, ref: str, n: int, decision: str,
                         tag: str) -> None:
    """Before records named the verdict, write ``n``'s were ``verdict-tag:<ref>:<n>`` and
    ``verdict-note:<ref>:<n>`` (marker ``verdict-<n>``). When an unfinished one of those was this
    verdict's, it is taken over, so replaying it after the upgrade writes nothing twice."""
    tag_record = ctx.records.get(f"verdict-tag:{ref}:{n}")
    if isinstance(tag_record, Mapping) and tag_record.get("tags") == [tag]:
        ctx.records.put_if_absent(f"verdict-tag:{ref}:{n}:{decision}", dict(tag_record))
    old_note = f"verdict-note:{ref}:{n}"
    if ctx.records.get(old_note) is None and ctx.records.get(old_note + ":attempt") is None:
        return
    found = find_note(client, opportunity, f": {VERDICT_WORDS[decision]}\n{marker(ref, f'verdict-{n}')}")
    if found:
        ctx.records.put_if_absent(f"verdict-note:{ref}:{n}:{decision}",
                                  {"noteId": found, "recovered": True, "at": time.time()})


def _waiting_for_note(ctx, ref: str) -> str:
    """Why a verdict waits: its completion's note is not in Lever yet, and, when Lever refused
    that note, what the admin must fix (the verdict is written once the note's delivery, replayed,
    is done)."""
    refused = ctx.records.get(f"note-refused:{ref}")
    if isinstance(refused, Mapping) and refused.get("message"):
        return (f"the completion note is not in Lever yet, and the verdict follows it. {refused['message']} "
                "The verdict is written as soon as that note is.")
    return "the completion note is not in Lever yet; the verdict follows it"


def verdict(ctx, client: LeverClient, settings: LeverSettings, decision: Verdict) -> None:
    invitation = ctx.invitations.get(decision.invitation_id)
    if invitation is None:
        ctx.log.warning("verdict for unknown invitation %s: nothing to write", decision.invitation_id)
        return
    ref = invitation.external_reference
    completion = ctx.records.get(f"note:{ref}")
    if not isinstance(completion, Mapping) or "noteId" not in completion:
        raise Deferred(_waiting_for_note(ctx, ref), retry_after=DEFER_SECONDS)
    if completion.get("skipped"):
        return  # the opportunity is gone
    if invitation.verdict and invitation.verdict != decision.verdict:
        ctx.log.info("verdict %s of %s superseded by %s", decision.verdict, ref, invitation.verdict)
        return
    shown, written_before = _verdict_shown(ctx, ref)
    if shown == decision.verdict and not _other_verdict_begun(ctx, ref, decision.verdict, written_before):
        return  # Lever shows it already: a redelivery, or a change and back before the change was written
    # this write's records are keyed by n and the verdict: a crash and retry finds them and repeats nothing
    n = _verdict_write(ctx, ref, decision.verdict, written_before)
    provider = provider_title(invitation.provider)
    words = VERDICT_WORDS[decision.verdict]
    other = VERDICT_WORDS[THUMBS_DOWN if decision.verdict == THUMBS_UP else THUMBS_UP]
    opportunity = invitation.opportunity_id
    options = _options(ctx, invitation)
    at = f"{ref}:{n}:{decision.verdict}"
    try:
        _adopt_unkeyed_write(ctx, client, opportunity, ref, n, decision.verdict, f"{provider}: {words}")
        tag_once(ctx, client, opportunity, f"verdict-tag:{at}", [f"{provider}: {words}"],
                 remove=[f"{provider}: {other}"])
        _, written = write_note_once(ctx, client, opportunity, f"verdict-note:{at}",
                                     marker(ref, f"verdict-{n}-{decision.verdict}"),
                                     verdict_text(invitation, provider, words,
                                                  decision.decided_at or invitation.verdict_at,
                                                  settings.note_time_zone))
        if written:
            ctx.invitations.note(invitation.id, "verdict_written", f"{words} written to Lever")
        stage = options.get("move_to_stage_on_thumbs_up")
        if decision.verdict == THUMBS_UP and isinstance(stage, str) and stage:
            move_once(ctx, client, invitation, stage)
        reason = options.get("archive_reason_on_thumbs_down")
        if decision.verdict == THUMBS_DOWN and isinstance(reason, str) and reason:
            archive_once(ctx, client, invitation, reason)
        store_record(ctx.records, f"verdict:{ref}", {"verdict": decision.verdict, "n": n, "at": time.time()})
        ctx.records.delete(f"verdict-pending:{ref}")
    except LeverNotFound as exc:
        opportunity_gone_or_refused(ctx, client, settings, invitation, exc)
        ctx.log.info("verdict of %s not written: the candidate no longer exists in Lever", ref)


def invitation_status(ctx, client: LeverClient, settings: LeverSettings, progress: InvitationProgress) -> None:
    if progress.status != FAILED:
        return
    invitation = ctx.invitations.get(progress.invitation_id)
    if invitation is None:
        return
    ref = invitation.external_reference
    reason = progress.reason or invitation.failure_reason or "no reason given"
    provider = provider_title(invitation.provider)
    try:
        tag_once(ctx, client, invitation.opportunity_id, f"failed-tag:{ref}", [NOT_SENT_TAG])
        _, written = write_note_once(ctx, client, invitation.opportunity_id, f"failed-note:{ref}",
                                     marker(ref, "failed"),
                                     f"{provider} assessment {one_line(invitation.assessment_name, MAX_NAME_CHARS)} "
                                     f"was not sent: {one_line(reason, MAX_REASON_CHARS)}")
        if written:
            ctx.invitations.note(invitation.id, "failure_written", "tagged in Lever: " + NOT_SENT_TAG)
    except LeverNotFound as exc:
        opportunity_gone_or_refused(ctx, client, settings, invitation, exc)
        ctx.log.info("invitation failure of %s not written: the candidate no longer exists in Lever", ref)


def candidate_deleted(ctx, deletion: CandidateDeleted) -> int:
    """Forget the records about a deleted candidate's invitations; returns how many."""
    ids = {inv.id for inv in ctx.invitations.find(deletion.opportunity_id)}
    if not ids:
        return 0
    removed = 0
    for key in ctx.records.keys():
        parts = key.split(":")
        if len(parts) >= 2 and parse_external_reference(parts[1]) in ids:
            ctx.records.delete(key)
            removed += 1
    return removed
