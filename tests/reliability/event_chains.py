"""Chains of Lever events per candidate, and what the hub must make of them: the oracle of
``test_duplicates_order.py``, computed from the logical events alone (never from how many times,
or in which order, they were delivered).

The hub's documented semantics it encodes (docs/admin-guide.md "What happens to a candidate";
``hub.kit.provider``; ``plugins/canditech/invite.py``):

* a stage change is acted on as Lever has the candidate when the hub re-reads it (trust nothing
  but ids): a candidate is invited by an attachment when a stage change into its stage names them
  and the re-read finds them there, not archived (a deleted one is not found at all);
* one invitation per opportunity and attachment, ever: re-entering the stage, even after the
  invitation was cancelled, sends nothing;
* an archive (a hire is an archive with a hired reason, plus ``candidateHired``, which no plugin
  acts on) cancels the candidate's open invitations when the re-read finds them archived (or
  gone); unarchiving re-opens nothing and invites nobody.

Rounds make this exact: every step of a round is taken in Lever before any of the round's webhooks
is delivered, and a round's work settles before the next round's steps; so each re-read of a round
sees the state the round ends in, whatever order its deliveries come in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# provider -> the stage its assessment is attached to, for posting-backend-engineer
# (``hub.demo.connect_workspace``: the stage named after the provider)
ATTACHED = {"canditech": "stage-canditech", "vervoe": "stage-vervoe"}
FIRST_STAGE = "stage-new-applicant"
OPEN = ("invited", "started")

CREATED = "applicationCreated"
STAGE_CHANGE = "candidateStageChange"
ARCHIVE_CHANGE = "candidateArchiveChange"
HIRED = "candidateHired"
DELETED = "candidateDeleted"
# what the hub stores (``plugins/lever/webhooks.py``): all but applicationCreated, which it ignores
# while "invite candidates created directly in an attached stage" is off (the default)
STORED = (STAGE_CHANGE, ARCHIVE_CHANGE, HIRED, DELETED)


@dataclass(frozen=True)
class Step:
    """One thing a recruiter does in Lever: ``move`` (to ``stage``), ``archive``, ``unarchive``,
    ``hire`` or ``delete``."""

    action: str
    stage: str | None = None

    @property
    def webhooks(self) -> tuple[str, ...]:
        """The webhooks Lever fires for it (``plugins/lever/sandbox/state.py``)."""
        return {"move": (STAGE_CHANGE,), "archive": (ARCHIVE_CHANGE,), "unarchive": (ARCHIVE_CHANGE,),
                "hire": (ARCHIVE_CHANGE, HIRED), "delete": (DELETED,)}[self.action]


IN = Step("move", ATTACHED["canditech"])
VERVOE = Step("move", ATTACHED["vervoe"])
SCREEN = Step("move", "stage-recruiter-screen")
OUT = Step("move", "stage-phone-interview")
ONSITE = Step("move", "stage-onsite-interview")
OFFER = Step("move", "stage-offer")
ARCHIVE, UNARCHIVE, HIRE, DELETE = Step("archive"), Step("unarchive"), Step("hire"), Step("delete")

# name -> the steps of each round (ROUNDS of them); candidate i follows the chain i % len(CHAINS).
# No step is a no-op (Lever fires nothing for those: ``Oracle.round`` refuses them). No two moves of
# a chain in round 2 go between the same two stages: round 2's webhooks have no id, and Lever's
# webhooks without one are told apart by kind, opportunity, triggeredAt (ms) and stages (the hub's
# retry key).
ROUNDS = 3
CHAINS: dict[str, tuple[tuple[Step, ...], ...]] = {
    "enters": ((SCREEN, IN), (), ()),
    "enters and leaves": ((IN, OUT), (ONSITE, OFFER), ()),
    "in and out three times": ((IN, OUT, IN, OUT, IN), (OUT, IN), ()),  # three stage changes racing to invite
    "comes back in round 2": ((IN,), (OUT, IN, ONSITE, IN), ()),
    "enters in round 2": ((IN, OUT), (SCREEN, IN), ()),
    "archived": ((IN, ARCHIVE), (), ()),
    "archived and unarchived twice": ((IN, ARCHIVE, UNARCHIVE, ARCHIVE, UNARCHIVE), (), ()),
    # back in the stage by no stage change in round 2 (no invitation), by one in round 3
    "unarchived in round 2": ((IN, ARCHIVE), (UNARCHIVE,), (OUT, IN)),
    "archived in round 2, back in round 3": ((IN,), (OUT, IN, ARCHIVE), (UNARCHIVE, OUT, IN)),
    "hired in round 2": ((IN,), (HIRE,), ()),
    "deleted": ((IN, DELETE), (), ()),
    "both providers": ((IN, VERVOE), (IN,), ()),
    "never attached": ((SCREEN, OUT, ONSITE), (OUT, OFFER), (SCREEN,)),
}


@dataclass
class Candidate:
    """An opportunity as Lever has it after the steps so far."""

    opportunity_id: str
    chain: str
    stage: str = FIRST_STAGE
    archived: bool = False
    deleted: bool = False

    def steps(self, round_: int) -> tuple[Step, ...]:
        return CHAINS[self.chain][round_]


@dataclass
class Oracle:
    """Lever's candidates and the invitations the hub must hold: ``invitations`` maps
    (opportunity, provider) to the invitation's status."""

    candidates: dict[str, Candidate] = field(default_factory=dict)
    invitations: dict[tuple[str, str], str] = field(default_factory=dict)
    stored: Counter = field(default_factory=Counter)  # Lever events the hub must have stored, by kind

    def add(self, opportunity_id: str, chain: str) -> None:
        self.candidates[opportunity_id] = Candidate(opportunity_id, chain)

    def round(self, steps: list[tuple[str, Step]]) -> Counter:
        """Lever takes ``steps`` ((opportunity, step), in order), then the hub gets all their
        webhooks: update the state and the invitations; return the webhooks Lever fired, by kind."""
        fired: Counter = Counter()
        entered: dict[str, set[str]] = {}
        archive_events: set[str] = set()
        for opportunity_id, step in steps:
            candidate = self.candidates[opportunity_id]
            if candidate.deleted or (step.action == "move" and candidate.stage == step.stage) or (
                    step.action in ("archive", "hire") and candidate.archived) or (
                    step.action == "unarchive" and not candidate.archived):
                raise ValueError(f"{candidate.chain}: {step} changes nothing in Lever, which fires nothing for it")
            fired.update(step.webhooks)
            if step.action == "move":
                candidate.stage = step.stage
                entered.setdefault(opportunity_id, set()).add(step.stage)
            elif step.action in ("archive", "hire"):
                candidate.archived = True
                archive_events.add(opportunity_id)
            elif step.action == "unarchive":
                candidate.archived = False  # its archive event cancels nothing: the re-read finds it unarchived
            elif step.action == "delete":
                candidate.deleted = True
        for opportunity_id, stages in entered.items():
            candidate = self.candidates[opportunity_id]
            if candidate.deleted or candidate.archived:
                continue
            for provider, stage in ATTACHED.items():
                if stage in stages and candidate.stage == stage:
                    self.invitations.setdefault((opportunity_id, provider), "invited")
        for opportunity_id in archive_events:
            candidate = self.candidates[opportunity_id]
            if candidate.archived or candidate.deleted:
                for key, status in self.invitations.items():
                    if key[0] == opportunity_id and status in OPEN:
                        self.invitations[key] = "cancelled"
        self.stored.update({kind: n for kind, n in fired.items() if kind in STORED})
        return fired

    def open_invitations(self, provider: str) -> list[str]:
        """The opportunities with an open invitation of ``provider``."""
        return sorted(o for (o, p), status in self.invitations.items() if p == provider and status in OPEN)

    def complete(self, opportunity_id: str, provider: str) -> None:
        assert self.invitations[(opportunity_id, provider)] in OPEN
        self.invitations[(opportunity_id, provider)] = "completed"
