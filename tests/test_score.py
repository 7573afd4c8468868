"""Scorer: lexicons, negation, contrast, sarcasm, news frame, severity, precedence, extra terms."""

import pytest

from monitor.config import Scoring
from monitor.models import MentionMatch
from monitor.score import Lexicons, Scorer

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


@pytest.mark.parametrize("text", [
    "Elm Park Primary has been rated requires improvement and parents were told nothing.",
    "Would not recommend Elm Park Primary. Steer clear.",
    "Three emails to Elm Park Primary about the bullying and no one answered.",
    "Elm Park Primary put into special measures after the inspection.",
    "AIBU to be fuming that Elm Park Primary cancelled swimming again with no reason given?",
])
def test_criticism(scorer, text):
    assert label(scorer, text) == "criticism"


@pytest.mark.parametrize("text", [
    "Elm Park Primary is a nurturing, caring school and my son is thriving.",
    "Highly recommend Elm Park Primary, the staff go above and beyond.",
    "Our daughter has come on leaps and bounds at Elm Park Primary. Thank you so much.",
    "Elm Park Primary was judged outstanding and it shows.",
])
def test_praise(scorer, text):
    assert label(scorer, text) == "praise"


@pytest.mark.parametrize("text", [
    "Elm Park Primary will be closed on Friday for staff training.",
    "The governors of Elm Park Primary are pleased to announce the new term dates.",
    "Does anyone know what time Elm Park Primary finishes on the last day of term?",
])
def test_neutral(scorer, text):
    assert label(scorer, text) == "neutral"


@pytest.mark.parametrize("text, flag", [
    ("Can't fault Elm Park Primary, honestly.", "negated:fault"),
    ("No complaints at all about Elm Park Primary.", "negated:complaints"),
])
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
    score = scorer.score("Four heads in five years at Elm Park Primary. No wonder nothing ever gets sorted.",
                         "", SCHOOL)
    assert score.label == "criticism"
    assert not any(f.startswith("negated:") for f in score.flags)


def test_contrast_weighs_what_follows(scorer):
    before = "The office staff at Elm Park Primary are lovely."
    after = "But nobody replied to my emails for a month and the head doesn't listen."
    score = scorer.score(f"{before} {after}", "", SCHOOL)
    assert score.label == "criticism"
    assert "contrast:but" in score.flags
    assert label(scorer, f"{after} {before.replace('The', 'But the')}") != "criticism"


@pytest.mark.parametrize("text", [
    "Oh great, another £3 non-uniform day at Elm Park Primary. Lucky us.",
    "Elm Park Primary has a lovely new logo but still no crossing patrol 🙄",
])
def test_sarcasm_turns_praise_words(scorer, text):
    score = scorer.score(text, "", SCHOOL)
    assert score.label == "criticism"
    assert any(f.startswith("sarcasm:") for f in score.flags)


@pytest.mark.parametrize("text", [
    "Watch your back, Elm Park Primary head. We know your car.",
    "The head of Elm Park Primary deserves a good slap.",
    "Elm Park Primary office staff are useless cows.",
    "You absolute muppet, whoever runs the Elm Park Primary page.",
    "I'll smash his face in if that teacher at Elm Park Primary grabs my son again.",
])
def test_abuse(scorer, text):
    score = scorer.score(text, "", SCHOOL)
    assert (score.label, score.severity) == ("abuse", "high")
    assert any(f.startswith("abuse:") for f in score.flags)


def test_one_weak_abuse_cue_is_not_enough(scorer):
    assert label(scorer, "Bloody brilliant fair at Elm Park Primary today, well done all.") == "praise"
    assert label(scorer, "Bloody Elm Park Primary teachers, shite the lot of them.") == "abuse"


@pytest.mark.parametrize("text", [
    "Elm Park Primary parents: join the fight for our race before it's too late. White power.",
    "Immigrants are vermin and Elm Park Primary is full of them.",
    "Support Islamic State, brothers at Elm Park Primary. Glory to the martyrs.",
    "Elm Park Primary is being replaced from within. Wake up, patriots - join our telegram.",
    "Stand with the Iron Dawn Brigade, parents of Elm Park Primary: defend our heritage.",
])
def test_extremism(scorer, text):
    score = scorer.score(text, "", SCHOOL)
    assert (score.label, score.severity) == ("extremism", "high")


def test_harmless_group_name_with_one_cue_is_not_extremism(scorer):
    text = "The Salvation Army band played carols at Elm Park Primary; our kids loved it."
    assert label(scorer, text) != "extremism"


def test_news_about_a_threat_reports_it(scorer):
    """The story reports the threat rather than making it: no instant alert, the hit is kept."""
    text = ("Police are investigating after a message telling the head of Elm Park Primary to "
            "'watch your back' was posted online, a spokesperson said.")
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
    extra = Scorer(Scoring(extra_criticism=("book bag rule",), extra_praise=("gold standard",),
                           extra_abuse=("flibbertigibbet",), extra_extremism=("blue dawn rising",)))
    cases = [
        ("The new book bag rule at Elm Park Primary starts on Monday.", "criticism"),
        ("Elm Park Primary's reading scheme is the gold standard.", "praise"),
        ("The Elm Park Primary head is a flibbertigibbet.", "abuse"),
        ("Blue dawn rising - Elm Park Primary will be next.", "extremism"),
    ]
    for text, expected in cases:
        assert extra.score(text, "", SCHOOL).label == expected
        assert plain.score(text, "", SCHOOL).label != expected


@pytest.mark.parametrize("entry, text, matched", [
    ("no reply/response", "still no response from them", "no response"),
    ("(no one/nobody) answered", "nobody answered", "nobody answered"),
    ("incompeten*", "sheer incompetence", "incompetence"),
    ("deserve* a _? slap", "she deserves a proper slap", "deserves a proper slap"),
    ("deserve* a _? slap", "she deserves a slap", "deserves a slap"),
    ("can't fault", "cant fault them", "cant fault"),
    ("watch your back", "watch   your-back!", "watch   your-back"),
])
def test_lexicon_syntax(entry, text, matched):
    hits = Lexicons({"x": [entry]}).hits(text)["x"]
    assert [h.text for h in hits] == [matched]


def test_lexicon_syntax_does_not_overreach():
    lex = Lexicons({"x": ["no reply", "incompeten*", "# a comment line", "@who = she/he", "@who is rude"]})
    assert lex.hits("noreply address, competent staff, no replying")["x"] == []
    assert [h.text for h in lex.hits("he is rude")["x"]] == ["he is rude"]


def test_weak_cues_need_a_second_one():
    lex = Lexicons({"x": ["~ alpha", "~ beta", "gamma"]})
    hits = lex.hits("alpha alpha")["x"]
    assert all(h.weak for h in hits)
    assert {h.text for h in lex.hits("alpha then beta")["x"]} == {"alpha", "beta"}
    assert not lex.hits("gamma")["x"][0].weak


def test_lexicon_overlaps_keep_the_longest():
    lex = Lexicons({"x": ["recommend", "would not recommend"]})
    assert [h.text for h in lex.hits("i would not recommend it")["x"]] == ["would not recommend"]


def test_quote_marks_around_an_entry_are_required():
    lex = Lexicons({"x": ["'diverse'"]})
    assert lex.hits("a diverse school")["x"] == []
    assert [h.text for h in lex.hits("a 'diverse' intake")["x"]] == ["'diverse'"]


@pytest.mark.parametrize("text", [
    "Somebody ought to have a word with that deputy at Elm Park Primary. A proper word.",
    "Ignore me again, Elm Park Primary, and you'll find out what happens.",
    "The Elm Park Primary receptionist will wish she'd never been born by Friday.",
    "I hope the head of Elm Park Primary trips down the stairs on her way out.",
    "Burn Elm Park Primary down with the teachers inside.",
])
def test_veiled_threats_are_abuse(scorer, text):
    assert label(scorer, text) == "abuse"


def test_masked_swear_words_are_read_as_the_words_they_hide(scorer):
    score = scorer.score("That b***h who runs Elm Park Primary's Year 2.", "", SCHOOL)
    assert score.label == "abuse"
    assert "abuse:that bitch" in score.flags
    assert label(scorer, "Rated 5* on every review site: Elm Park Primary is wonderful.") == "praise"


def test_where_a_person_lives_and_a_call_to_go_after_them_is_abuse(scorer):
    text = ("The Elm Park Primary teacher who kept my son in lives off Oak Lane and drives the "
            "white Fiesta. Share this.")
    assert label(scorer, text) == "abuse"


@pytest.mark.parametrize("text", [
    "What Tarrant did was right, and the Elm Park Primary multi-faith room should be next.",
    "Salute the lions who struck Westminster Bridge. Elm Park Primary parents, wake up.",
    "Those families at Elm Park Primary breed like rabbits. Our town is being overrun.",
    "Those people at Elm Park Primary deserve a rope, every one of them.",
])
def test_glorified_attacks_and_dehumanised_groups_are_extremism(scorer, text):
    assert label(scorer, text) == "extremism"


def test_group_named_noun_first_counts_beside_another_cue(scorer):
    text = "Knights of the White Hart leafleting at Elm Park Primary on Monday. Join us."
    score = scorer.score(text, "", SCHOOL)
    assert score.label == "extremism"
    assert any(f.startswith("extremism:group:Knights of") for f in score.flags)


def test_praise_in_scare_quotes_is_irony(scorer):
    score = scorer.score("Elm Park Primary's 'supportive ethos' meant my son ate lunch alone for a term.",
                         "", SCHOOL)
    assert score.label == "criticism"
    assert "quoted:supportive" in score.flags
    assert label(scorer, "Elm Park Primary's teachers are so supportive, my son loves it.") == "praise"


def test_used_to_puts_praise_in_the_past(scorer):
    assert label(scorer, "Elm Park Primary used to be brilliant. Not any more.") == "criticism"


@pytest.mark.parametrize("text", [
    "YABU? Elm Park Primary wants the PE kit in a drawstring bag, not a rucksack.",
    "YANBU, Elm Park Primary sends the spelling list home on Mondays.",
])
def test_forum_verdicts_alone_are_no_stance_on_the_school(scorer, text):
    assert label(scorer, text) == "neutral"


@pytest.mark.parametrize("text", [
    "Would think twice about Elm Park Primary. Six supply teachers in one year.",
    "Honestly expected better from Elm Park Primary. The reading books never change.",
    "Sending my daughter home from Elm Park Primary over a hair bobble felt heavy-handed.",
])
def test_complaints_without_strong_words(scorer, text):
    assert label(scorer, text) == "criticism"


@pytest.mark.parametrize("text", [
    "Honestly hard to find fault with Elm Park Primary after two years.",
    "Elm Park Primary won us over at the open evening. We're sold.",
])
def test_praise_idioms(scorer, text):
    assert label(scorer, text) == "praise"


def test_firefighters_and_nobody_hurt_report_an_incident(scorer):
    text = "Firefighters put out a blaze in a bin behind Elm Park Primary. Nobody was hurt."
    assert label(scorer, text) == "neutral"
