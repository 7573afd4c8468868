"""Scorer: the shapes of abuse and extremism added for wordings no lexicon entry held, each with
the harsh-but-legitimate criticism or the report it must not swallow."""

import pytest

from monitor.models import MentionMatch
from monitor.score import Scorer, normalise

SCHOOL = MentionMatch(True, aliases=("Elm Park Primary",), reasons=("alias:Elm Park Primary",))


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def label(scorer, text):
    return scorer.score(text, "", SCHOOL).label


@pytest.mark.parametrize(
    "masked, plain",
    [
        ("tw@t", "twat"),
        ("b1tch", "bitch"),
        ("sh!t", "shit"),
        ("n*nce", "nonce"),
        ("c*w", "cow"),
        ("r*tards", "retards"),
    ],
)
def test_symbols_for_letters_spell_out_the_insult(masked, plain):
    assert normalise(f"she is a {masked}") == f"she is a {plain}"


@pytest.mark.parametrize("text", ["email a.stevenson@elmpark.org by the 1st", "it's 10am!sorry"])
def test_symbols_that_make_no_insult_stay(text):
    assert normalise(text) == text.lower()


@pytest.mark.parametrize(
    "text",
    [
        "the elm park primary office manager is a proper b1tch",  # symbol for a letter
        "Elm Park Primary staff = leeches, every last one",  # "=" as a copula
        "elm park primary teachers r a bunch of clowns",  # txt-speak "r"
        "The Elm Park Primary deputy is a gutless worm cowering in her office all day.",  # noun, then more
        "That toad of a teacher at Elm Park Primary wants reporting.",  # "<insult> of a <person>"
        "The Year 2 teacher at Elm Park Primary looks like a pig in a wig.",
        "Elm Park Primary head, kys",  # suicide incitement
        "The Elm Park Primary SLT should be taken outside and shot.",  # act after three words
        "I'd love to smash his stupid face in, that Elm Park Primary caretaker.",
        "The Elm Park Primary head will get hers. We don't forget round here.",
        "Keep an eye on your car, Elm Park Primary deputy. Parents never forget.",  # two veiled cues
        "We know what time she leaves Elm Park Primary on a Friday.",
        "I know what car Mr Dale drives. Elm Park Primary parents, just saying.",
    ],
)
def test_abuse_in_new_shapes(scorer, text):
    assert label(scorer, text) == "abuse"


@pytest.mark.parametrize(
    "text",
    [
        "The head of Elm Park Primary is out of her depth and should resign.",
        "Elm Park Primary is a disgrace of a school. Bullying ignored, emails ignored.",
        "The governors at Elm Park Primary are asleep at the wheel.",
        "Elm Park Primary's lunches are overpriced and poorly supervised.",
        "Heads should roll at Elm Park Primary after that report.",
    ],
)
def test_harsh_criticism_stays_criticism(scorer, text):
    assert label(scorer, text) == "criticism"


@pytest.mark.parametrize(
    "text",
    [
        "Shocked that someone called Ms Morris a 'useless cow' in the comments. Elm Park Primary is lucky to have her.",
        "Leaflets reading 'Remigration now' were found by the gates of Elm Park Primary this morning.",
    ],
)
def test_quoted_abuse_is_reported_not_made(scorer, text):
    score = scorer.score(text, "", SCHOOL)
    assert score.label not in ("abuse", "extremism")
    assert any(f.startswith("reported:") for f in score.flags)


def test_a_scare_quoted_euphemism_is_the_posters_own(scorer):
    text = "Dads of Elm Park Primary: we patrol the streets from Monday and 'sort out' the refugee families ourselves."
    assert label(scorer, text) == "extremism"


@pytest.mark.parametrize(
    "text",
    [
        "Fair play to whoever firebombed that migrant hotel. Elm Park Primary's refugee kids next.",
        "Whoever burned the synagogue near Elm Park Primary is a hero in my book.",
        "The London Bridge attacker was a martyr. Teach that at Elm Park Primary.",
        "The (((bankers))) fund Elm Park Primary's new curriculum. Wake up.",
        "Elm Park Primary's head is a traitor to her own race.",
        "Our meeting for Elm Park Primary dads is whites only.",
        "No more mosques in Hornchurch, no more foreigners at Elm Park Primary.",
    ],
)
def test_extremism_in_new_shapes(scorer, text):
    assert label(scorer, text) == "extremism"


@pytest.mark.parametrize(
    "text",
    [
        "More of this please! Next stop the regional finals for Elm Park Primary.",
        "Elm Park Primary choir: enjoy it while it lasts, the storm is coming tomorrow so wear coats.",
        "The lads are ready for Saturday's match. Every town should have a team like Elm Park Primary's.",
        "Elm Park Primary chess club meets on Mondays; fists up for the borough tournament!",
        "Mrs Woods picks up her kids from Elm Park Primary at 3.15 like everyone else.",
        "Parents don't forget: keep your eyes peeled for the Elm Park Primary lost property sale.",
        "Those clowns at the Elm Park Primary circus workshop were hilarious, the kids loved it.",
        "These two wonders from Elm Park Primary won the borough spelling bee.",
        "Elm Park Primary's farm trip: Year 1 thought the piglet looks like a little pink cow.",
        "Elm Park Primary kids killed it at sports day, absolute legends.",
        "Elm Park Primary's chess club crushed the opposition, wiped them out 6-0.",
        "Does anyone know what car park the Elm Park Primary coach leaves from?",
        "We'll wait for you at the school gate after the Elm Park Primary assembly, bring the cake!",
        "Elm Park Primary staff car park gets keyed every Halloween, please keep an eye out.",
        "It would be a shame if the Elm Park Primary summer fair was cancelled, just saying.",
        "Elm Park Primary Year 4 learned about the Blitz and why people hated the Nazis.",
        "Elm Park Primary pupils learned about the Holocaust and the dangers of extremism in a moving assembly.",
        "Elm Park Primary: someone is going to get hurt with this parking, please use the car park.",
        "See you at pick up! Elm Park Primary mums, we'll be down there early, be careful getting home in the snow.",
        "Elm Park Primary's new cookery club: 🔪🥕 safety first, knives handled by adults only.",
        "Share this until she's found: Elm Park Primary pupil's lost cat Bella, black and white.",
        "Elm Park Primary Year 6 learned what happened to Jo Cox and why kindness matters.",
    ],
)
def test_everyday_phrases_that_share_words_with_threats_raise_no_alarm(scorer, text):
    assert label(scorer, text) not in ("abuse", "extremism")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Holocaust lesson at Elm Park Primary is propaganda, six million never happened.", "extremism"),
        ("Elm Park Primary teaches the holohoax to ten year olds now.", "extremism"),
        ("Year 6 at Elm Park Primary learned how six million Jews were murdered in the Holocaust.", None),
        ("Elm Park Primary's Holocaust Memorial Day assembly was moving.", None),
    ],
)
def test_holocaust_denial_is_extremism_and_teaching_the_holocaust_is_not(scorer, text, expected):
    got = label(scorer, text)
    assert got == expected if expected else got not in ("abuse", "extremism")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Everyone knows Mrs Woods at Elm Park Primary is a junkie. Share this till she's gone.", "abuse"),
        ("Mrs Sale at Elm Park Primary should be careful walking to her car. Parents have long memories.", "abuse"),
        (
            "The Elm Park Primary teacher who showed that cartoon should remember what happened to Samuel Paty.",
            "extremism",
        ),
        ("Elm Park Primary's trust is controlled by the Jews, like everything else.", "extremism"),
    ],
)
def test_veiled_threats_smears_and_tropes_any_guide_lists(scorer, text, expected):
    assert label(scorer, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("★☆☆☆☆ Elm Park Primary. Phonics results down, supply teachers all autumn.", "criticism"),
        ("Elm Park Primary, 2 out of 5. The office never calls back.", "criticism"),
        ("★★★★★ Elm Park Primary School. Warm, organised, the children are happy.", "praise"),
        ("Hate the uniform, hate the car park, love the teachers. Elm Park Primary 4/5.", "praise"),
    ],
)
def test_a_reviews_rating_says_its_stance(scorer, text, expected):
    assert label(scorer, text) == expected


def test_a_year_group_written_with_a_slash_is_no_rating(scorer):
    assert label(scorer, "Elm Park Primary Year 4/5 class assembly is on Friday at 9.") == "neutral"


def test_a_question_asked_is_read_without_vaders_tone_and_a_challenge_with_it(scorer):
    assert label(
        scorer, "Are Elm Park Primary doing the nasal flu spray in school this year or do we go to the GP?"
    ) == ("neutral")
    text = (
        "Why does Elm Park Primary insist on a £22 hoodie when a plain one from Asda would do? Cost of living crisis?"
    )
    assert label(scorer, text) == "criticism"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Elm Park Primary maths team absolutely slaughtered the competition at the borough quiz!", "praise"),
        ("Fair play to Elm Park Primary, they held their hands up about the trip and refunded everyone.", "praise"),
        ("I was ready to hate the new Elm Park Primary head but I'll eat my words.", "praise"),
    ],
)
def test_praise_in_idioms_vader_reads_as_violent_or_neutral(scorer, text, expected):
    assert label(scorer, text) == expected
