"""Redaction: secret values and secret-named fields never reach a file or the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from cutover.redact import (
    MASK,
    Redactor,
    collect_secrets,
    is_secret_field,
    parse_env_file,
)


def test_values_are_masked_wherever_they_occur() -> None:
    r = Redactor(["hunter2-long", "postgresql://mint:pw-9a8b7c@postgres:5432/mint"])
    assert (
        r.text("pw hunter2-long and again hunter2-long.")
        == f"pw {MASK} and again {MASK}."
    )
    # the whole URL, and the password alone when it shows up elsewhere
    assert r.text("url=postgresql://mint:pw-9a8b7c@postgres:5432/mint") == f"url={MASK}"
    assert r.text("PGPASSWORD=pw-9a8b7c psql") == f"PGPASSWORD={MASK} psql"


def test_short_and_empty_values_are_not_treated_as_secrets() -> None:
    r = Redactor(["", "ok", "abc"])
    assert r.count == 0
    assert r.text("status ok") == "status ok"


def test_secret_named_fields_are_masked_in_structures() -> None:
    r = Redactor(["s3cr3t-value"])
    data = {
        "event_data": {
            "res": {
                "ansible_facts": {
                    "api_token": "abc",
                    "db_password": "x1",
                    "MINIO_SECRET_KEY": "y",
                }
            },
            "task": "Render s3cr3t-value",
            "requires_keys": ["ORDER_INTAKE_API_KEY"],
            "x-api-key": "zzz",
            "monkey": "banana",
            "keyed": True,
            "items": [{"token": "t"}, "s3cr3t-value"],
        }
    }
    out = r.data(data)
    facts = out["event_data"]["res"]["ansible_facts"]
    assert facts == {"api_token": MASK, "db_password": MASK, "MINIO_SECRET_KEY": MASK}
    assert out["event_data"]["task"] == f"Render {MASK}"
    assert out["event_data"]["requires_keys"] == [
        "ORDER_INTAKE_API_KEY"
    ]  # names, not values
    assert out["event_data"]["x-api-key"] == MASK
    assert out["event_data"]["monkey"] == "banana"
    assert out["event_data"]["keyed"] is True
    assert out["event_data"]["items"] == [{"token": MASK}, MASK]


def test_field_name_rules() -> None:
    for name in (
        "password",
        "PGPASSWORD",
        "secret",
        "api_key",
        "FILES_API_KEY",
        "token",
        "key",
        "keys",
        "x-api-key",
        "private_key",
        "credentials",
    ):
        assert is_secret_field(name), name
    for name in (
        "monkey",
        "keyboard",
        "requires_keys",
        "cutover_secret_env",
        "passed",
        "status",
        "task",
    ):
        assert not is_secret_field(name), name


def test_env_file_parsing() -> None:
    text = "# c\nexport A=1\nB='two words'\nC=\"x=y\"\n\nbad line\n"
    assert parse_env_file(text) == {"A": "1", "B": "two words", "C": "x=y"}


def test_collect_secrets_from_env_file_and_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "secrets.env"
    env_file.write_text(
        "DATABASE_URL=postgresql://mint:pw-123456@postgres:5432/mint\nMINIO_BUCKET=artwork-intake\n"
        "POSTGRES_PASSWORD=pw-123456\nMINIO_ENDPOINT=http://minio:9000\n"
    )
    values = collect_secrets(
        ["DATABASE_URL", "FILES_API_KEY"],
        ["ORDER_INTAKE_API_KEY"],
        [env_file, tmp_path / "absent.env"],
        environ={
            "ORDER_INTAKE_API_KEY": "intake-key-1",
            "FILES_API_KEY": "files-key-2",
            "HOME": "/root",
        },
    )
    assert sorted(values) == sorted(
        [
            "postgresql://mint:pw-123456@postgres:5432/mint",
            "pw-123456",
            "intake-key-1",
            "files-key-2",
        ]
    )
    r = Redactor(values)
    assert (
        r.text("bucket artwork-intake at http://minio:9000")
        == "bucket artwork-intake at http://minio:9000"
    )


# A secret with every character that serialisers escape: quotes, backslash, '$', '#', spaces.
HARD_SECRET = 'pa"ss\\wo$rd #x \'q\' é'


def _leaks(text: str) -> list[str]:
    forms = {
        HARD_SECRET,
        json.dumps(HARD_SECRET)[1:-1],
        json.dumps(HARD_SECRET, ensure_ascii=False)[1:-1],
        json.dumps(json.dumps(HARD_SECRET)[1:-1])[1:-1],
        json.dumps(json.dumps(HARD_SECRET, ensure_ascii=False)[1:-1], ensure_ascii=False)[1:-1],
    }
    return [f for f in forms if f in text]


def test_the_env_file_is_read_by_the_one_parser_docker_semantics() -> None:
    env = parse_env_file(f"S={HARD_SECRET}\n")
    assert env == {"S": HARD_SECRET}  # quotes, '$', '#', backslash and spaces kept exactly


def test_raw_and_json_escaped_forms_are_masked() -> None:
    r = Redactor([HARD_SECRET])
    assert r.text(f"raw {HARD_SECRET} end") == f"raw {MASK} end"
    once = json.dumps({"msg": f"got {HARD_SECRET}"})
    assert _leaks(r.text(once)) == []
    assert json.loads(r.text(once)) == {"msg": f"got {MASK}"}  # still valid JSON
    twice = json.dumps({"stdout": json.dumps({"msg": HARD_SECRET})})
    assert _leaks(r.text(twice)) == []
    assert json.loads(json.loads(r.text(twice))["stdout"]) == {"msg": MASK}
    ascii_only = json.dumps({"msg": HARD_SECRET}, ensure_ascii=True)
    assert json.loads(r.text(ascii_only)) == {"msg": MASK}


def test_an_event_that_carries_serialised_json_is_masked_before_it_is_written() -> None:
    r = Redactor([HARD_SECRET])
    event = {
        "event": "runner_on_failed",
        "stdout": "fatal: [docker-host]: FAILED! => " + json.dumps({"msg": f"bad {HARD_SECRET}"}),
        "event_data": {"res": {"msg": repr({"v": HARD_SECRET})}},
    }
    line = json.dumps(r.data(event))  # as events.jsonl / receipt.json are written
    assert _leaks(line) == []
    assert "pa" not in line.replace("FAILED", "").replace("event", "")  # no fragment of the secret


def test_url_password_forms_are_masked() -> None:
    url = "postgresql://mint:p%22w%5Cd-123@postgres:5432/mint"
    r = Redactor([url])
    assert r.text('password p"w\\d-123 and ' + json.dumps('p"w\\d-123')) == f"password {MASK} and \"{MASK}\""


def test_collect_secrets_never_fails_on_a_bad_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "secrets.env"
    env_file.write_bytes(
        b"API_KEY = spaced-secret-1\n"
        b"export TOKEN='quoted-secret-2'\n"
        b'CERT_SECRET="line1-secret-3\n'
        b"continuation-line\n"
        b"PASSWORD=dup-secret-4\n"
        b"PASSWORD=dup-secret-5\n"
        b"WIN_SECRET=crlf-secret-6\r\n"
        b"BIN_SECRET=\xff\xfe-secret-7\n"
        b"PLAIN=not-a-secret\n"
    )
    values = collect_secrets([], [], [env_file], environ={})
    for expected in ("spaced-secret-1", "quoted-secret-2", "dup-secret-4", "dup-secret-5", "crlf-secret-6"):
        assert expected in values
    assert any("line1-secret-3" in v for v in values)
    assert "crlf-secret-6" in values  # CRLF line endings: the CR is not part of the secret
    assert any("secret-7" in v for v in values)
    assert "not-a-secret" not in values
    Redactor(values)  # building the redactor never fails either
