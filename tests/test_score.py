"""Scorer: lexicons, negation, contrast, sarcasm, news frame, severity, precedence, extra terms."""

import json
import re
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import Scoring
from monitor.models import MentionMatch
from monitor.score import Lexicons, Scorer, rules
from monitor.score.lexicon import parse_classes
from monitor.score.vader import FastVader as _AsciiVader

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCHOOL = MentionMatch(True, aliases=("Elm Park Primary",), reasons=("alias:Elm Park Primary",))
WITH_STAFF = MentionMatch(True, aliases=("Elm Park Primary",), staff=("Mrs N Sale",))


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def label(scorer, text, match=SCHOOL):
    return scorer.score(text, "", match).label


def test_not_a_mention_is_offtopic_and_low(scorer):
    score = scorer.score("Great pub quiz at the Elm Park Tavern, lovely night.", "", MentionMatch(False))
    assert (score.mention, score.label, score.severity) == (False, "offtopic", "low")
    assert score.sentiment == 0.0 and score.flags == ()  # not about the school: its tone is not scored


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary has been rated requires improvement and parents were told nothing.",
        "Would not recommend Elm Park Primary. Steer clear.",
        "Three emails to Elm Park Primary about the bullying and no one answered.",
        "Elm Park Primary put into special measures after the inspection.",
        "AIBU to be fuming that Elm Park Primary cancelled swimming again with no reason given?",
    ],
)
def test_criticism(scorer, text):
    assert label(scorer, text) == "criticism"


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary is a nurturing, caring school and my son is thriving.",
        "Highly recommend Elm Park Primary, the staff go above and beyond.",
        "Our daughter has come on leaps and bounds at Elm Park Primary. Thank you so much.",
        "Elm Park Primary was judged outstanding and it shows.",
    ],
)
def test_praise(scorer, text):
    assert label(scorer, text) == "praise"


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary will be closed on Friday for staff training.",
        "The governors of Elm Park Primary are pleased to announce the new term dates.",
        "Does anyone know what time Elm Park Primary finishes on the last day of term?",
    ],
)
def test_neutral(scorer, text):
    assert label(scorer, text) == "neutral"


@pytest.mark.parametrize(
    "text, flag",
    [
        ("Can't fault Elm Park Primary, honestly.", "negated:fault"),
        ("No complaints at all about Elm Park Primary.", "negated:complaints"),
    ],
)
def test_negated_criticism_is_praise(scorer, text, flag):
    score = scorer.score(text, "", SCHOOL)
    assert score.label == "praise"
    assert flag in score.flags


def test_negated_praise_is_criticism(scorer):
    score = scorer.score("Elm Park Primary is not outstanding, whatever the banner says.", "", SCHOOL)
    assert score.label == "criticism"
    assert "negated:outstanding" in score.flags


def test_negation_stops_at_punctuation(scorer):
    """'no forms, no fuss': the first 'no' does not negate the second phrase."""
    score = scorer.score("Elm Park Primary sorted it: no forms, no fuss, just help.", "", SCHOOL)
    assert "negated:no fuss" not in score.flags


def test_phrase_with_its_own_negation_is_not_turned(scorer):
    score = scorer.score(
        "Four heads in five years at Elm Park Primary. No wonder nothing ever gets sorted.", "", SCHOOL
    )
    assert score.label == "criticism"
    assert not any(f.startswith("negated:") for f in score.flags)


def test_contrast_weighs_what_follows(scorer):
    before = "The office staff at Elm Park Primary are lovely."
    after = "But nobody replied to my emails for a month and the head doesn't listen."
    score = scorer.score(f"{before} {after}", "", SCHOOL)
    assert score.label == "criticism"
    assert "contrast:but" in score.flags
    assert label(scorer, f"{after} {before.replace('The', 'But the')}") != "criticism"


@pytest.mark.parametrize(
    "text",
    [
        "Oh great, another £3 non-uniform day at Elm Park Primary. Lucky us.",
        "Elm Park Primary has a lovely new logo but still no crossing patrol 🙄",
    ],
)
def test_sarcasm_turns_praise_words(scorer, text):
    score = scorer.score(text, "", SCHOOL)
    assert score.label == "criticism"
    assert any(f.startswith("sarcasm:") for f in score.flags)


@pytest.mark.parametrize(
    "text",
    [
        "Watch your back, Elm Park Primary head. We know your car.",
        "The head of Elm Park Primary deserves a good slap.",
        "Elm Park Primary office staff are useless cows.",
        "You absolute muppet, whoever runs the Elm Park Primary page.",
        "I'll smash his face in if that teacher at Elm Park Primary grabs my son again.",
    ],
)
def test_abuse(scorer, text):
    score = scorer.score(text, "", SCHOOL)
    assert (score.label, score.severity) == ("abuse", "high")
    assert any(f.startswith("abuse:") for f in score.flags)


def test_one_weak_abuse_cue_is_not_enough(scorer):
    assert label(scorer, "Bloody brilliant fair at Elm Park Primary today, well done all.") == "praise"
    assert label(scorer, "Bloody Elm Park Primary teachers, shite the lot of them.") == "abuse"


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary parents: join the fight for our race before it's too late. White power.",
        "Immigrants are vermin and Elm Park Primary is full of them.",
        "Support Islamic State, brothers at Elm Park Primary. Glory to the martyrs.",
        "Elm Park Primary is being replaced from within. Wake up, patriots - join our telegram.",
        "Stand with the Iron Dawn Brigade, parents of Elm Park Primary: defend our heritage.",
    ],
)
def test_extremism(scorer, text):
    score = scorer.score(text, "", SCHOOL)
    assert (score.label, score.severity) == ("extremism", "high")


def test_harmless_group_name_with_one_cue_is_not_extremism(scorer):
    text = "The Salvation Army band played carols at Elm Park Primary; our kids loved it."
    assert label(scorer, text) != "extremism"


def test_news_about_a_threat_reports_it(scorer):
    """The story reports the threat rather than making it: no instant alert, the hit is kept."""
    text = (
        "Police are investigating after a message telling the head of Elm Park Primary to "
        "'watch your back' was posted online, a spokesperson said."
    )
    score = scorer.score(text, "", SCHOOL)
    assert score.label not in ("abuse", "extremism")
    assert score.severity != "high"
    assert any(f.startswith("reported:abuse:") for f in score.flags)


def test_news_of_an_incident_is_neutral_despite_dark_words(scorer):
    text = "Police were called to Elm Park Primary after reports of a suspicious man near the gates."
    score = scorer.score(text, "", SCHOOL)
    assert score.sentiment < 0
    assert score.label == "neutral"
    assert any(f.startswith("reporting:") for f in score.flags)


def test_threat_without_news_frame_is_abuse(scorer):
    text = "I know your car and your routine, Elm Park Primary head. Think on."
    assert label(scorer, text) == "abuse"


def test_precedence_extremism_over_abuse_over_criticism(scorer):
    both = "Elm Park Primary's head is a stupid cow. Deport all immigrants, ban them from our schools."
    assert label(scorer, both) == "extremism"
    abusive_criticism = "Elm Park Primary requires improvement and the head is a stupid cow."
    assert label(scorer, abusive_criticism) == "abuse"
    mixed = "Elm Park Primary is lovely but requires improvement, would not recommend."
    assert label(scorer, mixed) == "criticism"


def test_severity_criticism_medium_raised_to_high_by_staff(scorer):
    text = "Would not recommend Elm Park Primary. Mrs Sale never replied to three emails."
    assert scorer.score(text, "", SCHOOL).severity == "medium"
    with_staff = scorer.score(text, "", WITH_STAFF)
    assert (with_staff.label, with_staff.severity, with_staff.mentions_staff) == ("criticism", "high", True)
    assert "staff:Mrs N Sale" in with_staff.flags


def test_severity_praise_and_neutral_low_even_with_staff(scorer):
    praise = scorer.score("Mrs Sale is wonderful, so kind and patient. Thank you so much!", "", WITH_STAFF)
    assert (praise.label, praise.severity) == ("praise", "low")


def test_flags_carry_vader_compound(scorer):
    score = scorer.score("Elm Park Primary is a wonderful school.", "", SCHOOL)
    assert f"vader:{score.sentiment:.2f}" in score.flags
    assert -1 <= score.sentiment <= 1


def test_domain_words_reach_vader(scorer):
    """'thriving' and 'shambolic' are not in VADER's own lexicon."""
    assert scorer.score("Elm Park Primary is thriving.", "", SCHOOL).sentiment > 0
    assert scorer.score("Elm Park Primary is shambolic.", "", SCHOOL).sentiment < 0


def test_extra_terms_from_scoring():
    plain = Scorer()
    extra = Scorer(
        Scoring(
            extra_criticism=("book bag rule",),
            extra_praise=("gold standard",),
            extra_abuse=("flibbertigibbet",),
            extra_extremism=("blue dawn rising",),
        )
    )
    cases = [
        ("The new book bag rule at Elm Park Primary starts on Monday.", "criticism"),
        ("Elm Park Primary's reading scheme is the gold standard.", "praise"),
        ("The Elm Park Primary head is a flibbertigibbet.", "abuse"),
        ("Blue dawn rising - Elm Park Primary will be next.", "extremism"),
    ]
    for text, expected in cases:
        assert extra.score(text, "", SCHOOL).label == expected
        assert plain.score(text, "", SCHOOL).label != expected


def _lexicons(lines):
    """A lexicon "x" of these lines (class definitions among them), as rules.load builds one."""
    classes = parse_classes(lines)
    entries = rules._compact(
        "x", [line for line in lines if not line.startswith("@") or "=" not in line], "t", "x", set()
    )
    return Lexicons(["x"], entries, classes)


@pytest.mark.parametrize(
    "entry, text, matched",
    [
        ("no reply/response", "still no response from them", "no response"),
        ("(no one/nobody) answered", "nobody answered", "nobody answered"),
        ("incompeten*", "sheer incompetence", "incompetence"),
        ("deserve* a _? slap", "she deserves a proper slap", "deserves a proper slap"),
        ("deserve* a _? slap", "she deserves a slap", "deserves a slap"),
        ("can't fault", "cant fault them", "cant fault"),
        ("watch your back", "watch   your-back!", "watch   your-back"),
    ],
)
def test_lexicon_syntax(entry, text, matched):
    hits = _lexicons([entry]).hits(text)["x"]
    assert [h.text for h in hits] == [matched]


def test_lexicon_syntax_does_not_overreach():
    lex = _lexicons(["no reply", "incompeten*", "# a comment line", "@who = she/he", "@who is rude"])
    assert lex.hits("noreply address, competent staff, no replying")["x"] == []
    assert [h.text for h in lex.hits("he is rude")["x"]] == ["he is rude"]


def test_weak_cues_need_a_second_one():
    lex = _lexicons(["~ alpha", "~ beta", "gamma"])
    hits = lex.hits("alpha alpha")["x"]
    assert all(h.weak for h in hits)
    assert {h.text for h in lex.hits("alpha then beta")["x"]} == {"alpha", "beta"}
    assert not lex.hits("gamma")["x"][0].weak


def test_lexicon_overlaps_keep_the_longest():
    lex = _lexicons(["recommend", "would not recommend"])
    assert [h.text for h in lex.hits("i would not recommend it")["x"]] == ["would not recommend"]


def test_quote_marks_around_an_entry_are_required():
    lex = _lexicons(["'diverse'"])
    assert lex.hits("a diverse school")["x"] == []
    assert [h.text for h in lex.hits("a 'diverse' intake")["x"]] == ["'diverse'"]


@pytest.mark.parametrize(
    "text",
    [
        "Somebody ought to have a word with that deputy at Elm Park Primary. A proper word.",
        "Ignore me again, Elm Park Primary, and you'll find out what happens.",
        "The Elm Park Primary receptionist will wish she'd never been born by Friday.",
        "I hope the head of Elm Park Primary trips down the stairs on her way out.",
        "Burn Elm Park Primary down with the teachers inside.",
    ],
)
def test_veiled_threats_are_abuse(scorer, text):
    assert label(scorer, text) == "abuse"


def test_masked_swear_words_are_read_as_the_words_they_hide(scorer):
    score = scorer.score("That b***h who runs Elm Park Primary's Year 2.", "", SCHOOL)
    assert score.label == "abuse"
    assert "abuse:that bitch" in score.flags
    assert label(scorer, "Rated 5* on every review site: Elm Park Primary is wonderful.") == "praise"


def test_where_a_person_lives_and_a_call_to_go_after_them_is_abuse(scorer):
    text = "The Elm Park Primary teacher who kept my son in lives off Oak Lane and drives the white Fiesta. Share this."
    assert label(scorer, text) == "abuse"


@pytest.mark.parametrize(
    "text",
    [
        "What Tarrant did was right, and the Elm Park Primary multi-faith room should be next.",
        "Salute the lions who struck Westminster Bridge. Elm Park Primary parents, wake up.",
        "Those families at Elm Park Primary breed like rabbits. Our town is being overrun.",
        "Those people at Elm Park Primary deserve a rope, every one of them.",
    ],
)
def test_glorified_attacks_and_dehumanised_groups_are_extremism(scorer, text):
    assert label(scorer, text) == "extremism"


def test_group_named_noun_first_counts_beside_another_cue(scorer):
    text = "Knights of the White Hart leafleting at Elm Park Primary on Monday. Join us."
    score = scorer.score(text, "", SCHOOL)
    assert score.label == "extremism"
    assert any(f.startswith("extremism:group:Knights of") for f in score.flags)


def test_praise_in_scare_quotes_is_irony(scorer):
    score = scorer.score("Elm Park Primary's 'supportive ethos' meant my son ate lunch alone for a term.", "", SCHOOL)
    assert score.label == "criticism"
    assert "quoted:supportive" in score.flags
    assert label(scorer, "Elm Park Primary's teachers are so supportive, my son loves it.") == "praise"


def test_used_to_puts_praise_in_the_past(scorer):
    assert label(scorer, "Elm Park Primary used to be brilliant. Not any more.") == "criticism"


@pytest.mark.parametrize(
    "text",
    [
        "YABU? Elm Park Primary wants the PE kit in a drawstring bag, not a rucksack.",
        "YANBU, Elm Park Primary sends the spelling list home on Mondays.",
    ],
)
def test_forum_verdicts_alone_are_no_stance_on_the_school(scorer, text):
    assert label(scorer, text) == "neutral"


@pytest.mark.parametrize(
    "text",
    [
        "Would think twice about Elm Park Primary. Six supply teachers in one year.",
        "Honestly expected better from Elm Park Primary. The reading books never change.",
        "Sending my daughter home from Elm Park Primary over a hair bobble felt heavy-handed.",
    ],
)
def test_complaints_without_strong_words(scorer, text):
    assert label(scorer, text) == "criticism"


@pytest.mark.parametrize(
    "text",
    [
        "Honestly hard to find fault with Elm Park Primary after two years.",
        "Elm Park Primary won us over at the open evening. We're sold.",
    ],
)
def test_praise_idioms(scorer, text):
    assert label(scorer, text) == "praise"


def test_firefighters_and_nobody_hurt_report_an_incident(scorer):
    text = "Firefighters put out a blaze in a bin behind Elm Park Primary. Nobody was hurt."
    assert label(scorer, text) == "neutral"


# Structural rules (AimedRules): insults and hate in words no lexicon entry holds.


def grave_flags(scorer, text):
    return [f for f in scorer.score(text, "", SCHOOL).flags if f.startswith(("abuse:", "extremism:"))]


@pytest.mark.parametrize(
    "text, shape",
    [
        ("The Year 3 teacher at Elm Park Primary is a spiteful old crone.", "aimed:"),
        (
            "Mrs Sale is an utter degenerate. Elm Park Primary should be ashamed.",
            "aimed:mrs sale is an utter degenerate",
        ),
        ("The head of Elm Park Primary is a coward and a crook.", "aimed:"),
        ("Elm Park Primary dinner ladies are thieves, every one of them.", "aimed:dinner ladies are thieves"),
        ("Honestly the Elm Park Primary governors are vile people.", "aimed:"),
    ],
)
def test_a_low_vader_word_or_insult_noun_said_of_a_person_is_abuse(scorer, text, shape):
    assert label(scorer, text) == "abuse"
    assert any(f.startswith("abuse:" + shape) for f in grave_flags(scorer, text))


@pytest.mark.parametrize(
    "text",
    [
        "You disgusting creep, stay away from Elm Park Primary.",
        "Get lost, you stupid liar. Elm Park Primary deserves better.",
    ],
)
def test_an_insult_addressed_to_you_is_abuse(scorer, text):
    assert label(scorer, text) == "abuse"
    assert any(f.startswith("abuse:you:") for f in grave_flags(scorer, text))


def test_a_low_vader_adjective_before_a_word_for_a_person_is_abuse(scorer):
    text = "What an evil woman the Elm Park Primary deputy is."
    assert label(scorer, text) == "abuse"
    assert "abuse:aimed:evil woman" in grave_flags(scorer, text)


@pytest.mark.parametrize(
    "text, flag",
    [
        ("I hope the Elm Park Primary head chokes on her lanyard.", "abuse:wish:"),
        ("Pray the new Elm Park Primary deputy ends up in a coma.", "abuse:wish:"),
        ("The Elm Park Primary caretaker deserves to be thrashed.", "abuse:deserve:"),
        ("That Elm Park Primary teacher should be flogged for what she said to my boy.", "abuse:deserve:"),
    ],
)
def test_wishes_of_harm_and_deserved_violence_aimed_at_a_person_are_abuse(scorer, text, flag):
    assert label(scorer, text) == "abuse"
    assert any(f.startswith(flag) for f in grave_flags(scorer, text))


@pytest.mark.parametrize(
    "text",
    [
        "The communication from Elm Park Primary is pathetic and the office is useless.",
        "The lunch at Elm Park Primary is vile and the portions are tiny.",
        "The head of Elm Park Primary is a disaster. Budget gone, staff gone.",
        "Elm Park Primary's new head is a terrible communicator and nobody trusts the leadership.",
        "The teachers at Elm Park Primary are rude every time I ring and never call back.",
        "Elm Park Primary's staff are incompetent and the governors are clueless.",
        "Elm Park Primary's head is a poor leader and a worse listener.",
        "2/5. Nice enough staff in reception at Elm Park Primary but the school is badly run.",
        "The parents at Elm Park Primary are devastated by the cuts.",
    ],
)
def test_harsh_words_about_a_service_or_the_work_stay_criticism(scorer, text):
    assert label(scorer, text) == "criticism"
    assert grave_flags(scorer, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "I hope the Elm Park Primary kids enjoy the trip, the teachers worked so hard on it.",
        "Does anyone know if the Elm Park Primary teacher who was hurt is okay? I hope she recovers soon.",
        "You absolute star, Mrs Woods! Elm Park Primary is lucky to have you.",
        "No teacher at Elm Park Primary should be attacked for doing their job.",
        "Elm Park Primary held a fundraiser for the poor woman whose house burned down.",
        "The Elm Park Primary staff are heroes, every one of them.",
    ],
)
def test_kind_words_pity_and_negated_harm_are_not_grave(scorer, text):
    assert label(scorer, text) not in ("abuse", "extremism")


def test_news_of_an_aimed_insult_reports_it(scorer):
    text = (
        "Police are investigating after a parent called an Elm Park Primary teacher a vile hag "
        "and threatened her, officers said."
    )
    score = scorer.score(text, "", SCHOOL)
    assert score.label == "neutral"
    assert any(f.startswith("reported:abuse:") for f in score.flags)


@pytest.mark.parametrize(
    "text, flag",
    [
        (
            "Elm Park Primary has let in so many migrant families. They are rats, spreading everywhere.",
            "extremism:dehumanised:they are rats",
        ),
        ("Jewish parents at Elm Park Primary are a disease on this town.", "extremism:dehumanised:"),
        ("The Somali kids at Elm Park Primary should be driven out, all of them.", "extremism:removal:"),
        ("Muslims at Elm Park Primary? Time to get rid of every last one of them.", "extremism:removal:"),
    ],
)
def test_a_group_dehumanised_or_to_be_removed_is_extremism(scorer, text, flag):
    assert label(scorer, text) == "extremism"
    assert any(f.startswith(flag) for f in grave_flags(scorer, text))


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary will teach Year 6 about the Holocaust, when the Nazis tried to wipe out Jews.",
        "Polish families at Elm Park Primary are running a stall at the summer fair.",
        "The black mould in the Year 2 classroom at Elm Park Primary is a plague and nobody fixes it.",
        "Refugee families at Elm Park Primary fear they'll be deported, the council said.",
        "Year 6 at Elm Park Primary are learning about the Blitz and the men who bombed London.",
    ],
)
def test_history_lessons_and_groups_in_plain_news_are_not_extremism(scorer, text):
    assert label(scorer, text) != "extremism"


@pytest.mark.parametrize(
    "text",
    [
        "The man who bombed the Harlow mosque is a true hero. Elm Park Primary parents know it.",
        "Glory to the martyrs of the Rexford attack. Elm Park Primary should honour them.",
    ],
)
def test_praise_of_an_attacker_or_an_attack_is_extremism(scorer, text):
    assert label(scorer, text) == "extremism"
    assert any(f.startswith("extremism:attack:") for f in grave_flags(scorer, text))


def test_the_attacked_praised_is_not_extremism(scorer):
    text = "The Elm Park Primary teacher who was attacked last year is a true hero for coming back."
    assert label(scorer, text) == "praise"


def test_support_for_a_named_body_counts_beside_another_cue(scorer):
    text = "Proud supporter of the Iron Kinship. Elm Park Primary dads: which side are you on? Wake up."
    score = scorer.score(text, "", SCHOOL)
    assert score.label == "extremism"
    assert any(f.startswith("extremism:group:") for f in score.flags)
    assert label(scorer, "Proud supporter of the Elm Park Primary Choir, what a concert.") == "praise"


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary is brilliant!!! The teachers are SO kind :) but the car park is awful, isn't it?",
        "Not bad at all, kind of lovely actually. But the office? Never again.",
        "Elm Park Primary 😡 the worst. 👍",
    ],
)
def test_vader_without_its_emoji_pass_scores_as_vader_does(text):
    assert _AsciiVader().polarity_scores(text) == SentimentIntensityAnalyzer().polarity_scores(text)


def test_our_vader_scores_every_held_out_text_exactly_as_vader_does():
    ours, theirs = _AsciiVader(), SentimentIntensityAnalyzer()
    texts = [
        json.loads(line)["text"]
        for path in sorted(BENCHMARKS.glob("heldout*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(texts) > 1000
    # Both of FastVader's ways are compared: texts with emoji and non-ASCII texts without.
    assert sum(ours.has_emoji(t) for t in texts) > 50
    assert sum(not t.isascii() and not ours.has_emoji(t) for t in texts) > 50
    for text in texts + [part for t in texts for part in t.split(". ")]:  # sentence by sentence too
        expected = theirs.polarity_scores(text)
        assert ours.polarity_scores(text) == expected, text
        assert ours.compound(text) == expected["compound"], text


@pytest.mark.parametrize(
    "text",
    [
        "Shame if something happened to the Elm Park Primary head's car. Nice car.",
        "If that Elm Park Primary teacher grabs my son again I'll snap both her arms.",
        "The Elm Park Primary deputy should check under her car before she drives home.",
    ],
)
def test_threats_by_implication_are_abuse(scorer, text):
    assert label(scorer, text) == "abuse"


def test_a_conduct_complained_of_is_criticism(scorer):
    text = "The head of Elm Park Primary is a bully and staff are frightened to speak up."
    assert label(scorer, text) == "criticism"


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary's deputy is a horrible, scheming old crone.",
        "The teachers at Elm Park Primary are a bunch of lazy, useless, snivelling parasites.",
        "Mr Kitto at Elm Park Primary is a total numpty and a jobsworth.",
        "Mrs Pelham at Elm Park Primary is a sour-faced old dragon, someone should run her out of Hornchurch.",
        "That Mr Graves at Elm Park Primary wants sacking. Sacked and run out of town.",
        "I know where Mrs Lyle from Elm Park Primary parks every morning. Just so she knows.",
        "Mr Stroud at Elm Park Primary better keep looking over his shoulder.",
        "Let's see how brave Mrs Kemble from Elm Park Primary is when we turn up at her door.",
        "I'd happily swing for Mrs Dace at Elm Park Primary, honestly.",
    ],
)
def test_name_calling_after_a_possessive_or_a_list_and_threats_of_presence_are_abuse(scorer, text):
    assert label(scorer, text) == "abuse"


@pytest.mark.parametrize(
    "text",
    [
        "The head of Elm Park Primary was rude, dismissive and completely useless on the phone.",
        "Elm Park Primary's head is a poor communicator and a worse manager of staff.",
        "Does anyone know where Elm Park Primary is? New to the area.",
        "Elm Park Primary ran out of school dinners again, my son went hungry.",
    ],
)
def test_lists_of_verdicts_and_place_questions_are_not_abuse(scorer, text):
    assert label(scorer, text) != "abuse"


@pytest.mark.parametrize(
    "text",
    [
        "I despise Mrs Hale from Elm Park Primary, the way she talks to the mums makes my skin crawl.",
        "If that woman from Elm Park Primary speaks to my daughter like that again I won't be responsible for my actions.",
        "Give me five minutes alone with the head of Elm Park Primary.",
        "Mr Tate at Elm Park Primary is a sneering, odious little man.",
        "Mr Wild at Elm Park Primary, your card is marked.",
    ],
)
def test_contempt_for_a_person_and_threats_by_implication_are_abuse(scorer, text):
    assert label(scorer, text) == "abuse"


@pytest.mark.parametrize(
    "text",
    [
        "I've emailed Elm Park Primary three times about the trip refund.",
        "Six weeks and counting for a reply from Elm Park Primary about my son's referral.",
        "Elm Park Primary's phone is permanently engaged.",
    ],
)
def test_asking_again_and_waiting_are_criticism(scorer, text):
    assert label(scorer, text) == "criticism"


def test_every_lexicon_entry_compiles():
    """Entries are compiled when a text first starts them; a broken one must not wait for that text."""
    lexicons = Scorer(model=None)._lexicons
    for _name, pattern, *_ in lexicons._entries:
        re.compile(pattern.source)
    assert len(lexicons._entries) > 500  # every list was read
