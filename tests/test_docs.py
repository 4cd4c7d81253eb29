"""The README is tested like code: every command and option it shows exists, its Python API example runs, and
its two set-up commands are the ones CI runs."""
import re
from pathlib import Path

from click.testing import CliRunner

from bbb_xl.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def fenced(after_heading: str) -> str:
    section = README.split(after_heading, 1)[1]
    return re.search(r"```\w*\n(.*?)```", section, re.S).group(1)


def test_every_cli_command_and_option_in_the_readme_exists():
    block = fenced("## Command line")
    commands = re.findall(r"^bbb-xl ([\w-]+)", block, re.M)
    assert commands == ["demo", "refresh", "template", "schedule", "check", "clear-sample", "upgrade",
                        "import", "explain", "journal", "close", "reopen"]
    for name in commands:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
    # each command's options (continuation lines are indented) are in its own --help
    for usage in re.findall(r"^bbb-xl .*(?:\n[ \t]+.*)*", block, re.M):
        name = usage.split()[1]
        help_text = CliRunner().invoke(cli, [name, "--help"]).output
        for option in re.findall(r"(--[a-z-]+)", usage):
            assert option in help_text, (name, option)


def test_python_api_example_runs_on_the_sample_book():
    from bbb_xl.sample import sample_contracts
    code = fenced("## Python API")
    namespace = {"rows": [r for r in sample_contracts() if r[0] != "C-9999"]}
    exec(compile(code, "README.md", "exec"), namespace)  # our own README, not input
    book = namespace["book"]
    assert book.ok and len(book.lines) == 403  # 402 + the usage line C-1201


def test_setup_commands_are_what_ci_runs():
    demo = fenced("Run the main job on the built-in sample data")
    tests = fenced("Run the tests")
    assert demo.strip().endswith(".venv/bin/bbb-xl demo")
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci
