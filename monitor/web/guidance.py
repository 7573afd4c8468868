"""What to do next, in words: each policy action as the mention page offers it (one click records
it), and what the label asks of staff. From the school's online-safety policy as the monitor's
README describes it and the UK helplines' published guidance (POSH, the police, GOV.UK)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    action: str  # one of models.ACTIONS
    title: str  # the button: "Record: reported to the platform"
    when: str  # when this is the step to take
    next: tuple[str, ...]  # what to do, in order


POSH = "the Professionals Online Safety Helpline (POSH): 0344 381 4772, helpline@saferinternet.org.uk"

STEPS = (
    Step(
        "reported-to-platform",
        "Reported to the platform",
        "The post breaks the platform's rules (abuse, threats, hate, a child's image or name).",
        (
            "Use the platform's own report button on the post, and note the reference it gives you.",
            "Keep the evidence: download it below (the post as collected, with SHA-256 checksums) and "
            "keep a screenshot that shows the address, the date and the account.",
            "The monitor re-checks the post every 6 hours and records here when it has gone.",
            f"If the platform has not acted within 48 hours, contact {POSH}.",
        ),
    ),
    Step(
        "deletion-requested",
        "Asked for it to be removed",
        "A parent's or a local group's post that its author or the group's admins can take down.",
        (
            "Ask the author, or the group's admins or moderators, in writing and politely; do not argue in public.",
            "Keep a copy of what you sent.",
            "The monitor re-checks the post every 6 hours and records here when it has gone.",
        ),
    ),
    Step(
        "referred-to-posh",
        "Referred to POSH",
        "Content that targets staff and that the platform has not removed.",
        (
            f"Contact {POSH}.",
            "Report it to the platform first and wait 48 hours before contacting POSH, unless it is a "
            "safeguarding matter (a child at risk, a threat to someone's safety): then contact them, and "
            "the designated safeguarding lead, at once.",
            "Give them the post's address and the platform's report reference.",
        ),
    ),
    Step(
        "referred-to-police",
        "Referred to the police",
        "Threats of violence, hate crime, harassment, or a child at risk.",
        (
            "Call 999 if anyone is in immediate danger; otherwise call 101 or use your police force's online form.",
            "Terrorist or violent extremist content can also be reported at gov.uk/report-terrorism; "
            "the designated safeguarding lead decides on a Prevent referral.",
            "Keep the evidence as it is: do not reply to, edit or delete anything. Download the evidence "
            "below (the post, the whole page it came in and a manifest with SHA-256 checksums) and keep "
            "screenshots that show the address, the date, the time and the account.",
            "Write the crime reference number in the note.",
        ),
    ),
    Step(
        "responded",
        "Responded",
        "A complaint or a question the school answers, as the policy allows.",
        (
            "Reply briefly and factually, and invite them to contact the school directly; never discuss a "
            "pupil or a member of staff in public.",
            "Write where and what you replied in the note.",
        ),
    ),
    Step(
        "removed",
        "The post has gone",
        "You have seen that the post was taken down.",
        ("The monitor records this itself when a re-check finds the post gone; record it here if you saw it first.",),
    ),
)

BY_ACTION = {s.action: s for s in STEPS}

# What a label asks of staff before anything else.
FIRST = {
    "extremism": "Tell the designated safeguarding lead today: they decide on a Prevent referral. "
    "Keep the evidence before anything is removed.",
    "abuse": "Follow the steps below. If it names a pupil, threatens anyone or suggests a child is at risk, "
    "tell the designated safeguarding lead at once.",
    "criticism": "Usually no action beyond reading it; respond only as the policy allows.",
}
