"""`school-monitor score`: one JSON object per text with the documented keys; --jsonl echoes ids."""

import io
import json

from monitor import cli
from tests.conftest import write_config

KEYS = {"id", "mention", "label", "severity", "sentiment", "flags", "mentions_staff"}


def run(capsys, path, *args, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(["--config", str(path), "score", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_texts_give_one_object_each_with_the_documented_keys(tmp_path, capsys):
    path = write_config(tmp_path)
    code, rows, _ = run(
        capsys,
        path,
        "Elm Park Primary's nativity was wonderful, well done everyone",
        "Elm Park station is closed this weekend",
    )
    assert code == 0 and len(rows) == 2
    assert all(set(r) == KEYS for r in rows)
    assert [r["id"] for r in rows] == [1, 2]
    assert (rows[0]["mention"], rows[0]["label"]) == (True, "praise")
    assert (rows[1]["mention"], rows[1]["label"]) == (False, "offtopic")
    assert isinstance(rows[0]["sentiment"], float) and isinstance(rows[0]["flags"], list)


def test_jsonl_echoes_ids_reads_titles_and_skips_a_bad_line(tmp_path, capsys):
    path = write_config(tmp_path)
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        "\n".join(
            [
                json.dumps({"id": "a1", "text": "Mrs Sale at Elm Park Primary ignored every email I sent. Shocking."}),
                "not json",
                json.dumps(
                    {"id": "a2", "title": "Elm Park Primary", "text": "Lovely caring teachers, my son is thriving."}
                ),
                json.dumps({"id": "a3"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    code, rows, err = run(capsys, path, "--jsonl", str(lines))
    assert code == 2  # bad input named, the rest scored
    assert [r["id"] for r in rows] == ["a1", "a2"]
    assert rows[0]["mentions_staff"] and rows[0]["label"] == "criticism" and rows[0]["severity"] == "high"
    assert rows[1]["label"] == "praise"  # the alias is only in the title
    assert "in.jsonl:2: skipped" in err and "in.jsonl:4: skipped" in err


def test_jsonl_from_standard_input(tmp_path, capsys, monkeypatch):
    path = write_config(tmp_path)
    code, rows, _ = run(
        capsys, path, "--jsonl", "-", stdin=json.dumps({"id": 7, "text": "EPPS"}) + "\n", monkeypatch=monkeypatch
    )
    assert code == 0 and rows[0]["id"] == 7


def test_no_input_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["--config", str(write_config(tmp_path)), "score"]) == 2
    assert "--jsonl" in capsys.readouterr().err
