"""An edited post keeps its evidence: the gravest label it ever had stays (the new text beside it),
a person's correction decides, a post edited into something graver is alerted, and retention never
deletes a mention that was alerted or flagged. Scores are given explicitly: these tests are about
what is kept, not about the scorer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor import cli, store
from monitor.models import Item, Score, Scored, severity_of
from tests.conftest import monitor_for

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
SOURCE = "Parents forum"


def post(text: str, label: str, key: str = "p1") -> Scored:
    item = Item(source=SOURCE, key=key, url=f"https://forum.example/{key}", title="", text=text, published=NOW)
    return Scored(item, Score(True, label, severity_of(label), -0.5, flags=(f"rule:{label}",)))


def test_an_abusive_post_edited_to_something_harmless_keeps_its_label_and_evidence(make_config, capsys):
    cfg = make_config()
    m = monitor_for(cfg, now=NOW)
    (item_id,) = store.save_items(m.engine, [post("Mrs Woods at Elm Park Primary is vermin", "abuse")], NOW).new_ids
    assert m.alert_new().queued == 1
    store.save_items(m.engine, [post("Lovely nativity at Elm Park Primary", "praise")], NOW + timedelta(hours=1))
    (item,) = m.items()
    assert (item.label, item.severity, item.text_label) == ("abuse", "high", "praise")
    assert item.text == "Lovely nativity at Elm Park Primary" and item.flags == ("rule:abuse",)
    assert [i.id for i in m.items(labels=["abuse"])] == [item_id]  # still in the flagged lists
    assert len(m.mention(item_id).evidence) == 2  # both versions kept
    assert cli.main(["--config", str(cfg.path), "show", str(item_id)]) == 0
    assert "the post now reads as praise" in capsys.readouterr().out


def test_retention_never_deletes_a_mention_that_was_alerted_or_flagged(make_config):
    cfg = make_config(extra='[[alerts.route]]\nname = "heads"\nlabels = ["criticism"]\nrecipients = ["h@e.org"]\n')
    m = monitor_for(cfg, now=NOW)
    alerted, flagged, plain = store.save_items(
        m.engine,
        [
            post("Elm Park Primary ignores parents", "criticism", "c1"),  # medium, but emailed to the heads
            post("Elm Park Primary teacher is a liar", "abuse", "a1"),
            post("Elm Park Primary fair on Saturday", "neutral", "n1"),
        ],
        NOW,
    ).new_ids
    m.alert_new()
    assert {i.id for i in m.items() if i.alerted_at} == {alerted, flagged}
    later = monitor_for(cfg, now=NOW + timedelta(days=cfg.storage.keep_days + 1), engine=m.engine)
    assert later.apply_retention() == 1
    assert {i.id for i in later.items()} == {alerted, flagged}
    assert plain not in {i.id for i in later.items()}


def test_a_correction_decides_over_the_gravest_label(make_config):
    cfg = make_config()
    m = monitor_for(cfg, now=NOW)
    (item_id,) = store.save_items(m.engine, [post("The kids killed it at Elm Park Primary", "abuse")], NOW).new_ids
    m.correct_label(item_id, label="praise", note="a false alarm: 'killed it' is praise", by="alice")
    store.save_items(m.engine, [post("The kids killed it at Elm Park Primary!!", "abuse")], NOW + timedelta(hours=1))
    (item,) = m.items()
    assert (item.label, item.text_label, item.corrected_by) == ("praise", "abuse", "alice")
    (entry,) = m.mention(item_id).reviews
    assert (entry.previous_label, entry.label, entry.summary) == ("abuse", "praise", "relabelled abuse → praise")


def test_a_post_edited_into_something_graver_is_alerted(make_config):
    cfg = make_config()
    m = monitor_for(cfg, now=NOW)
    store.save_items(m.engine, [post("Elm Park Primary parents evening", "neutral")], NOW)
    assert m.alert_new().queued == 0
    store.save_items(m.engine, [post("I know where the Elm Park Primary head lives", "abuse")], NOW)
    (item,) = m.items()
    assert (item.label, item.text_label) == ("abuse", None)
    assert m.alert_new().queued == 1
