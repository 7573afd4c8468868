"""MentionFinder: aliases, exclusions, context for ambiguous aliases, staff names."""

import pytest

from monitor.config import School
from monitor.mentions import MentionFinder

SCHOOL = School(
    name="Elm Park Primary School",
    aliases=("Elm Park Primary", "Elm Park School", "EPPS"),
    exclude=("Elm Park station", "Elm Park Road"),
    context=("school", "pupils", "Ofsted", "Hornchurch"),
    not_context=("Winnipeg", "Reading"),
    staff=("Mrs A Stevenson", "Mrs L Woods", "Mrs N Sale", "Ms V Morris"),
)


@pytest.fixture(scope="module")
def finder():
    return MentionFinder(SCHOOL)


@pytest.mark.parametrize(
    "text",
    [
        "Sports day at Elm Park Primary was rained off again.",
        "elm park primary has a new website",
        "ELM PARK PRIMARY - term dates are out",
        "Elm Park Primary's new library opens on Monday.",
        "The elm-park primary choir sang at the care home.",
        "Loved the #ElmParkPrimary fun run this morning",
        "Still no answer from @elm_park_primary about the coach",
        "Elm Park Primary, Hornchurch: nativity tickets now on sale.",
    ],
)
def test_alias_matches_whole_words_any_case_and_punctuation(finder, text):
    match = finder.find(text)
    assert match.is_mention
    assert "Elm Park Primary" in match.aliases


@pytest.mark.parametrize(
    "text",
    [
        "Elm Parkside Primary is three miles away.",
        "We walked through Elm Park and on to the primary school in Upminster.",
        "welmpark primary",
    ],
)
def test_alias_does_not_match_inside_other_words(finder, text):
    assert not finder.find(text).is_mention


def test_title_counts_as_part_of_the_text(finder):
    assert finder.find("Parents are invited to the summer fair.", title="Elm Park Primary news").is_mention


@pytest.mark.parametrize(
    "text",
    [
        "Signal failure at Elm Park station, District line delays.",
        "Roadworks on Elm Park Road until Friday.",
    ],
)
def test_excluded_phrases_are_not_mentions(finder, text):
    match = finder.find(text)
    assert not match.is_mention
    assert any(r.startswith("excluded:") for r in match.reasons)


def test_exclusion_does_not_hide_a_real_alias(finder):
    match = finder.find("Elm Park Primary pupils collected litter outside Elm Park station.")
    assert match.is_mention
    assert "excluded:Elm Park station" in match.reasons


def test_all_mentions_source_needs_no_alias_but_exclusions_apply(finder):
    assert finder.find("The head wrote to parents today.", all_mentions=True).is_mention
    assert not finder.find("The head wrote to parents today.").is_mention
    assert not finder.find("Lifts out at Elm Park station again.", all_mentions=True).is_mention


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary Care Network: flu jabs this week.",
        "Elm Park School Road will be resurfaced in May.",
        "Elm Park School of Motoring - first lesson half price.",
    ],
)
def test_alias_inside_another_name_is_not_a_mention(finder, text):
    assert not finder.find(text).is_mention


def test_acronym_needs_a_context_word(finder):
    assert not finder.find("EPPS 2031 call for papers: abstracts due in March.").is_mention
    match = finder.find("EPPS pupils planted a hedge along the field.")
    assert match.is_mention
    assert "context:pupils" in match.reasons


def test_not_context_vetoes_the_alias(finder):
    match = finder.find("Elm Park School in Winnipeg is raising money for a new gym.")
    assert not match.is_mention
    assert "not_context:Winnipeg" in match.reasons


def test_capitalised_not_context_is_case_sensitive(finder):
    """'Reading' the town vetoes; 'reading' the subject does not."""
    assert finder.find("Elm Park School reading challenge starts today.").is_mention
    assert not finder.find("Elm Park School, Reading, has a new head.").is_mention


@pytest.mark.parametrize(
    "text, staff",
    [
        ("Mrs Sale ran the spelling bee brilliantly.", "Mrs N Sale"),
        ("Mrs N Sale has been appointed deputy head.", "Mrs N Sale"),
        ("Letter signed N Sale, Deputy Head.", "Mrs N Sale"),
        ("Miss Morris took the Year 3 trip.", "Ms V Morris"),
        ("mrs woods is off sick again", "Mrs L Woods"),
        ("Thank you Mrs Stevenson's class for the cards!", "Mrs A Stevenson"),
    ],
)
def test_staff_with_or_without_title_make_a_mention(finder, text, staff):
    match = finder.find(text)
    assert match.is_mention
    assert match.mentions_staff
    assert match.staff == (staff,)


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park Primary car boot sale on Saturday, pitches £10.",
        "Elm Park Primary Year 4 tried Morris dancing with a local side.",
        "Elm Park Primary planted trees in the woods behind the field.",
        "Elm Park Primary: half-price sale of old uniform.",
    ],
)
def test_common_words_are_not_staff(finder, text):
    match = finder.find(text)
    assert match.is_mention
    assert not match.mentions_staff


def test_bare_surname_alone_is_no_mention(finder):
    assert not finder.find("Huge sale at the garden centre this weekend.").is_mention


@pytest.mark.parametrize(
    "text, place",
    [
        ("Elm Park School (Auckland) won the regional netball final.", "Auckland"),
        ("Congratulations to Elm Park School, Sheffield, on its new library.", "Sheffield"),
        ("Elm Park School, Winchester: new head appointed.", "Winchester"),
        ("Well done to Elm Park School in Galway for winning the county quiz.", "Galway"),
        ("The roof of Elm Park School in Bristol has been repaired.", "Bristol"),
    ],
)
def test_alias_not_in_the_name_qualified_by_another_place_is_elsewhere(finder, text, place):
    match = finder.find(text)
    assert not match.is_mention
    assert f"elsewhere:{place}" in match.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Elm Park School, Hornchurch: new head appointed.",
        "Elm Park School (London) has a new head.",
        "Elm Park School in September was chaos at drop-off.",
        "Elm Park School is a joke.",
        "Elm Park School in Special Measures After Damning Report",
        "Elm Park School in Hornchurch has a new head.",
        "Elm Park School In Crisis As Head Quits",
        "Elm Park School, Parents Evening: book your slot now.",
        "Elm Park School - Open Evening Tonight",
    ],
)
def test_known_or_vague_qualifiers_keep_the_mention(finder, text):
    assert finder.find(text).is_mention


def test_alias_in_the_name_ignores_place_qualifiers(finder):
    """'Elm Park Primary' is part of the school's own name: sure, wherever it is said to be."""
    assert finder.find("Elm Park Primary, Sheffield? No, ours, the one in east London.").is_mention


def test_acronym_does_not_count_itself_as_context():
    finder = MentionFinder(
        School(name="Elm Park Primary School", aliases=("EPPS", "Elm Park School"), context=("school",))
    )
    match = finder.find("EPPS (Elm Park School of Music) rehearsal tonight, bring your sticks.")
    assert not match.is_mention
    assert "no_context:EPPS" in match.reasons


@pytest.mark.parametrize(
    "text",
    [
        "The EPPS receptionist hung up on me again.",
        "EPPS SLT have cancelled the trip.",
        "Does the EPPS walking bus still run on Fridays?",
    ],
)
def test_an_acronym_is_confirmed_by_a_school_role_or_routine(finder, text):
    assert finder.find(text).is_mention


@pytest.mark.parametrize(
    "text, context",
    [
        ("the dinner ladies at EPPS are vile old hags", "context:dinner lady"),
        ("EPPS lunchtime supervisors shout at the little ones", "context:lunchtime supervisor"),
        ("The EPPS teaching assistants are run ragged", "context:teaching assistant"),
        ("EPPS headteachers come and go", "context:headteacher"),
    ],
)
def test_an_acronym_is_confirmed_by_a_school_word_in_the_plural(finder, text, context):
    match = finder.find(text)
    assert match.is_mention and context in match.reasons


@pytest.mark.parametrize(
    "text",
    [
        "whoever runs the EPPS Facebook page is a spineless coward",
        "Someone in the EPPS parents' group posted the list again.",
        "The EPPS PTA WhatsApp is on fire tonight",
    ],
)
def test_the_schools_own_page_or_group_confirms_an_acronym(finder, text):
    match = finder.find(text)
    assert match.is_mention and "context:own page" in match.reasons


@pytest.mark.parametrize(
    "text", ["EPPS pipe band page: practice moved to Thursday.", "EPPS conference Facebook group: papers due."]
)
def test_another_epps_page_is_not_the_schools(finder, text):
    assert not finder.find(text).is_mention


def test_only_the_first_max_chars_are_read(finder):
    from monitor.mentions import MAX_CHARS

    filler = "lorem ipsum " * (MAX_CHARS // 12 + 1)
    assert finder.find("Elm Park Primary " + filler).is_mention
    assert not finder.find(filler + " Elm Park Primary").is_mention  # beyond the cap: not read
    hostile = "a" * 5_000_000 + " Elm Park Primary"
    assert not finder.find(hostile).is_mention


@pytest.mark.parametrize(
    "text",
    [
        "EPPS deputy is a vile nasty woman and I hope she gets what's coming",
        "The EPPS admin team lost our form for the third time.",
        "the TA at EPPS grabbed him by the arm",
        "EPPS lot are scum, every last one",
        "EPPS's new deputy has no idea what she's doing",
    ],
)
def test_a_school_role_beside_an_acronym_confirms_it(finder, text):
    match = finder.find(text)
    assert match.is_mention and "context:role beside it" in match.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Ta EPPS for the parcel, arrived today.",  # "ta": thanks, not a teaching assistant
        "EPPS deputy chair elected at the symposium in Leiden.",
        "The deputy mayor opened the new EPPS pipe band hall.",
    ],
)
def test_a_role_word_away_from_the_acronym_or_of_another_body_does_not(finder, text):
    match = finder.find(text)
    assert not match.is_mention or "context:role beside it" not in match.reasons


@pytest.mark.parametrize(
    "text", ["the ginger one in yr6 at EPPS", "EPPS Y4 trip is on Friday", "EPPS year six leavers"]
)
def test_an_acronym_is_confirmed_by_a_year_group_as_posts_write_it(finder, text):
    assert finder.find(text).is_mention


@pytest.mark.parametrize(
    "text", ["EPPS on Facebook deleted my comment again.", "Whoever runs the EPPS page is a coward."]
)
def test_the_schools_page_named_plainly_confirms_an_acronym(finder, text):
    match = finder.find(text)
    assert match.is_mention and "context:own page" in match.reasons
