"""Near-duplicates of corrected examples: reposts, pile-ons and small edits match; other posts on
the same topic do not."""

from __future__ import annotations

import pytest

from monitor.examples import Example, ExampleIndex, nearest

ORIGINAL = Example(
    7,
    "The head at Elm Park Primary lied to every parent about the trip money and thinks nobody noticed. "
    "Disgraceful woman, she should be ashamed.",
    "abuse",
)
OTHERS = [
    Example(
        3, "Elm Park Primary's Christmas fair raised £1,200 for the library. Thank you to all the volunteers!", "praise"
    ),
    Example(4, "Short one", "neutral"),
]


@pytest.fixture(scope="module")
def index():
    return ExampleIndex([ORIGINAL, *OTHERS])


@pytest.mark.parametrize(
    "text",
    [
        # a repost, with a link and a handle added
        ORIGINAL.text + " https://t.co/abc123 @ElmParkPrimary",
        # a repost with the case and punctuation changed
        ORIGINAL.text.upper().replace(".", "!!"),
        # the same text with a few words changed
        "The head at Elm Park Primary lied to all the parents about the trip money and thinks nobody noticed. "
        "Disgraceful woman, she should be ashamed of herself.",
        # a copy-paste pile-on: the text quoted in a reply
        "This!!! 100% agree. " + ORIGINAL.text + " Sharing.",
    ],
)
def test_reposts_pile_ons_and_small_edits_take_the_examples_label(index, text):
    match = index.match(text)
    assert match is not None and (match.id, match.label) == (7, "abuse")
    assert match.flag == "example:#7" and 0.5 < match.similarity <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "The head at Elm Park Primary has been brilliant about the trip money, refunded everyone within a day.",
        "Has anyone else had a letter from Elm Park Primary about the trip money? We paid twice.",
        "Elm Park Primary's head lied about the staffing cuts at the governors' meeting, we all heard it.",
        "Elm Park Primary's summer fair raised £900 for new books. Thanks to all the volunteers!",
    ],
)
def test_different_posts_on_the_same_topic_do_not_match(index, text):
    assert index.match(text) is None


def test_short_examples_match_only_the_same_text():
    index = ExampleIndex([Example(4, "EPPS is a joke", "criticism")])
    assert index.match("epps is a joke!!").id == 4
    assert index.match("EPPS is a joke, honestly") is None


def test_nothing_to_compare():
    assert nearest([], "anything at all") is None
    assert nearest([ORIGINAL], "") is None
