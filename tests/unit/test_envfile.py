"""The one env-file parser (roles/cutover_common/filter_plugins/cutover_envfile.py).

Docker's env-file semantics; refusals name the file, the line and the key, never a value.
The wrapper imports the same file as cutover.envfile (a symlink), and each role that reads an
env file carries a symlink to it in its filter_plugins/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover import envfile

from tests.unit.plugins import load

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = ROOT / "roles" / "cutover_common" / "filter_plugins" / "cutover_envfile.py"
PATH = "/etc/mint-modules/mint.env"
SECRET = "s3cr3t-VALUE"


def _only_problem(text: str) -> str:
    found = envfile.problems(text, PATH)
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------------- one file, many links


def test_the_wrapper_and_every_reading_role_use_the_same_file() -> None:
    assert Path(envfile.__file__).resolve() == CANONICAL.resolve()
    links = [
        ROOT / "python_wrapper" / "cutover" / "envfile.py",
        *(ROOT / "roles" / r / "filter_plugins" / "cutover_envfile.py"
          for r in ("cutover_prep", "cutover_swap", "cutover_migrate", "lab_secrets", "lab_env_file")),
    ]  # fmt: skip
    for link in links:
        assert link.is_symlink(), link
        assert link.resolve() == CANONICAL.resolve(), link


def test_the_filter_plugin_exposes_the_filters() -> None:
    plugin = load("cutover_envfile_plugin", CANONICAL)
    filters = plugin.FilterModule().filters()
    assert sorted(filters) == [
        "cutover_envfile_checksums",
        "cutover_envfile_keys",
        "cutover_envfile_parse",
        "cutover_envfile_per_service",
        "cutover_envfile_problems",
        "cutover_envfile_render",
        "cutover_envfile_select",
        "cutover_envfile_service_files",
    ]
    assert filters["cutover_envfile_parse"]("A=1\n") == {"A": "1"}


def test_prep_cutover_env_keys_delegates_to_the_parser() -> None:
    sql = load("cutover_sql_envkeys", ROOT / "roles" / "cutover_prep" / "filter_plugins" / "cutover_sql.py")
    text = "A=1\nB=\nexport C=3\nD = 4\n"
    assert sql.cutover_env_keys(text) == envfile.keys(text, lenient=True) == ["A", "C", "D"]


# ------------------------------------------------------------------------------ accepted forms


def test_docker_semantics_for_accepted_lines() -> None:
    text = (
        "# a comment\n"
        "\n"
        "   \t\n"
        "A=1\n"
        "  B=indented key\n"  # leading spaces and tabs of a line are ignored
        "\tC=tab\n"
        "EMPTY=\n"
        "URL=postgresql://u:p@h:5432/db?sslmode=require&x=a=b\n"  # split at the first '='
        "HASH=abc # not a comment\n"
        "INNER=a 'b' \"c\" d\n"
        "_under_score9=ok\n"
        "lower=ok"  # no newline at the end
    )
    assert envfile.parse(text, PATH) == {
        "A": "1",
        "B": "indented key",
        "C": "tab",
        "EMPTY": "",
        "URL": "postgresql://u:p@h:5432/db?sslmode=require&x=a=b",
        "HASH": "abc # not a comment",
        "INNER": "a 'b' \"c\" d",
        "_under_score9": "ok",
        "lower": "ok",
    }
    assert envfile.problems(text, PATH) == []


def test_a_secret_with_shell_and_quote_characters_is_read_exactly() -> None:
    secret = "p$HOME`x` \\n\\\\ \"dq\" 'sq' #h $(id) ${X} ;&|<>*?~!"
    assert envfile.parse(f"S={secret}\n") == {"S": secret}
    # and written back identically
    assert envfile.render({"S": secret}) == f"S={secret}\n"
    assert envfile.parse(envfile.render({"S": secret})) == {"S": secret}


def test_empty_and_comment_only_files() -> None:
    for text in ("", "\n", "# only a comment\n", None, b""):
        assert envfile.parse(text) == {}
        assert envfile.problems(text) == []


def test_bytes_are_read_as_utf8() -> None:
    assert envfile.parse("K=ünïcødé\n".encode()) == {"K": "ünïcødé"}


def test_keys_are_names_with_a_non_empty_value_in_file_order() -> None:
    assert envfile.keys("B=2\nA=1\nC=\n", PATH) == ["B", "A"]


# ------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"A=1\nKEY = {SECRET}\n", f"{PATH}: line 2: KEY: no spaces around '=' (write KEY=value)"),
        (f"KEY ={SECRET}\n", f"{PATH}: line 1: KEY: no spaces around '=' (write KEY=value)"),
        (f"KEY= {SECRET}\n", f"{PATH}: line 1: KEY: no spaces around '=' (write KEY=value)"),
        (f"KEY\t={SECRET}\n", f"{PATH}: line 1: KEY: no spaces around '=' (write KEY=value)"),
        (
            f"export KEY={SECRET}\n",
            f"{PATH}: line 1: KEY: 'export' is not allowed"
            " (write KEY=value; Docker would take 'export KEY' as the name)",
        ),
        (
            f'KEY="{SECRET}"\n',
            f"{PATH}: line 1: KEY: the value is wrapped in quotes, which Docker keeps as part of the value"
            " (write it without them)",
        ),
        (
            f"KEY='{SECRET}'\n",
            f"{PATH}: line 1: KEY: the value is wrapped in quotes, which Docker keeps as part of the value"
            " (write it without them)",
        ),
        (
            f"KEY={SECRET} \n",
            f"{PATH}: line 1: KEY: the value ends with whitespace (Docker keeps it, docker-py strips it)",
        ),
        (
            f"KEY={SECRET}\t\n",
            f"{PATH}: line 1: KEY: the value ends with whitespace (Docker keeps it, docker-py strips it)",
        ),
        (f"KEY=1\nOTHER=2\nKEY={SECRET}\n", f"{PATH}: line 3: KEY: duplicate name (first set on line 1)"),
        (f"KEY={SECRET}\x00\n", f"{PATH}: line 1: KEY: contains a NUL character"),
        (f"KEY={SECRET}\r\n", f"{PATH}: line 1: KEY: contains a carriage return (save the file with LF line endings)"),
        (f"={SECRET}\n", f"{PATH}: line 1: no variable name before '='"),
        (f"1KEY={SECRET}\n", f"{PATH}: line 1: invalid variable name (a name matches [A-Za-z_][A-Za-z0-9_]*)"),
        (f"KE-Y={SECRET}\n", f"{PATH}: line 1: invalid variable name (a name matches [A-Za-z_][A-Za-z0-9_]*)"),
        (f"  # {SECRET}\n", f"{PATH}: line 1: an indented comment (docker-py does not skip it): start it in column 1"),
        (
            f"\ufeffKEY={SECRET}\n",
            f"{PATH}: line 1: KEY: the file starts with a byte-order mark (save it as UTF-8 without BOM)",
        ),
        (f"\x1cKEY={SECRET}\n", f"{PATH}: line 1: the line starts with whitespace other than spaces and tabs"),
        (f"{SECRET}\n", f"{PATH}: line 1: no '=' on this line (every line is NAME=value)"),
    ],
)
def test_refusals_name_file_line_and_key_never_the_value(text: str, expected: str) -> None:
    problem = _only_problem(text)
    assert problem == expected
    assert SECRET not in problem
    with pytest.raises(envfile.EnvFileError) as err:
        envfile.parse(text, PATH)
    assert SECRET not in str(err.value)
    assert PATH in str(err.value)


def test_a_two_line_quoted_value_is_refused_naming_the_key_above() -> None:
    text = f'A=1\nCERT="{SECRET}-line1\n{SECRET}-line2"\nB=2\n'
    found = envfile.problems(text, PATH)
    assert found == [
        f"{PATH}: line 2: CERT: the value opens a quote that does not close on this line"
        " (Docker keeps quotes; a value is one line)",
        f"{PATH}: line 3: no '=' on this line: a value cannot span lines (is it the continuation of CERT from line 2?)",
    ]
    assert not any(SECRET in p for p in found)


def test_an_unquoted_continuation_line_is_refused_too() -> None:
    text = f"KEY={SECRET}-a\n{SECRET}-b\n"
    assert _only_problem(text) == (
        f"{PATH}: line 2: no '=' on this line: a value cannot span lines (is it the continuation of KEY from line 1?)"
    )


def test_a_continuation_that_holds_an_equal_sign_never_prints_its_text() -> None:
    text = "KEY=abc\n+/x y==\n"  # a wrapped base64 value: the text before '=' is not a name
    problem = _only_problem(text)
    assert problem == f"{PATH}: line 2: invalid variable name (a name matches [A-Za-z_][A-Za-z0-9_]*)"
    assert "+/x" not in problem


def test_invalid_utf8_is_refused() -> None:
    assert _only_problem(b"KEY=\xff\xfe\n") == f"{PATH}: line 1: KEY: is not valid UTF-8"


def test_every_problem_is_reported_at_once_and_the_error_lists_them() -> None:
    text = f"A = {SECRET}\nexport B={SECRET}\nC='{SECRET}'\nD=ok\n"
    assert [p.split(": ")[1] for p in envfile.problems(text, PATH)] == ["line 1", "line 2", "line 3"]
    with pytest.raises(envfile.EnvFileError) as err:
        envfile.parse(text, PATH)
    assert str(err.value).startswith(f"env file {PATH} refused (3 problem(s)): line 1: A: no spaces around '='")
    assert [p.line for p in err.value.problems] == [1, 2, 3]
    assert [p.key for p in err.value.problems] == ["A", "B", "C"]
    assert SECRET not in str(err.value)


def test_without_a_path_the_message_starts_at_the_line() -> None:
    assert envfile.problems("K = v\n") == ["line 1: K: no spaces around '=' (write K=value)"]


def test_a_refused_file_raises_a_value_error() -> None:
    with pytest.raises(ValueError, match="line 1: K: no spaces"):
        envfile.parse("K = v\n")
    with pytest.raises(ValueError, match="line 1: K: no spaces"):
        envfile.keys("K = v\n")


# ------------------------------------------------------------------------------------- lenient


def test_lenient_reads_refused_lines_the_forgiving_way_and_never_raises() -> None:
    text = (
        "A=1\n"
        "B = spaced \n"
        "export C='quoted'\n"
        'D="open\n'
        "continuation\n"
        "=novar\n"
        "E=first\n"
        "E=second\n"
        "F=trail \n"
    )
    assert envfile.parse(text, PATH, lenient=True) == {
        "A": "1",
        "B": "spaced",
        "C": "quoted",
        "D": '"open',
        "E": "second",
        "F": "trail",
    }
    assert envfile.keys(text, lenient=True) == ["A", "B", "C", "D", "E", "F"]


def test_scan_keeps_every_entry_for_the_redactor() -> None:
    result = envfile.scan("E=first\nE=second\nK = v\n")
    assert [(e.line, e.key, e.value, e.ok) for e in result.entries] == [
        (1, "E", "first", True),
        (2, "E", "second", False),
        (3, "K", "v", False),
    ]
    assert [(p.line, p.key) for p in result.problems] == [(2, "E"), (3, "K")]


# -------------------------------------------------------------------------------------- render


def test_render_selects_names_in_env_order() -> None:
    env = {"B": "2", "A": "1", "C": ""}
    assert envfile.render(env) == "B=2\nA=1\nC=\n"
    assert envfile.render(env, ["A", "C", "MISSING"]) == "A=1\nC=\n"
    assert envfile.render(env, []) == ""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"K": f"{SECRET}\nX=1"}, "line 1: K: the value holds a newline (a value is one line)"),
        ({"K": f" {SECRET}"}, "line 1: K: no spaces around '=' (write K=value)"),
        ({"K": f"{SECRET} "}, "line 1: K: the value ends with whitespace"),
        ({"K": f'"{SECRET}"'}, "line 1: K: the value is wrapped in quotes"),
        ({"K": 5}, "line 1: K: the value is not a string"),
        ({"1K": SECRET}, "line 1: invalid variable name"),
        ({"A": "ok", "K": f"{SECRET}\r"}, "line 2: K: contains a carriage return"),
    ],
)
def test_render_refuses_what_would_not_read_back(env: dict[str, object], expected: str) -> None:
    with pytest.raises(envfile.EnvFileError) as err:
        envfile.render(env)
    assert expected in str(err.value)
    assert SECRET not in str(err.value)
