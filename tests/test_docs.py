"""The documentation: every code block of README.md and docs/ runs as written, and the site builds without warnings.

A ```python block runs in its own Python process (as a script file, so a ``if __name__ == "__main__":``
guard behaves as it does for a user), a ```bash block with ``bash -e -o pipefail`` (a failing command anywhere in
the block fails it), both from the repository root with the ``near`` command of this checkout on PATH and the
benchmark data at ``../shared/data``. A block is skipped only when the line immediately before its opening fence
is ``<!-- fragment -->`` (an hour-long command, a sketch with the reader's own file names).

The blocks run in a mirror of the repository root (a temporary folder holding a link to every top-level entry,
and ``../shared/data`` linked to the shared data), so that what they write (``runs/``, plots) never lands in
the clone while every path in them means what it means for a reader.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
FRAGMENT = "<!-- fragment -->"
RUNNERS = {"python", "bash"}
BLOCK_TIMEOUT = 600  # seconds; each block takes seconds on an idle machine, the CI machine can be loaded
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    fragment: bool

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with their language and whether they are marked as fragments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        end = index + 1
        while end < len(lines) and not (lines[end].strip().startswith(fence) and set(lines[end].strip()) == {fence[0]}):
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path}:{index + 1}: code block never closed")
        body = "\n".join(line[indent:] for line in lines[index + 1 : end]) + "\n"
        language = match["info"].strip().split(" ")[0].lower() if match["info"].strip() else ""
        fragment = index > 0 and lines[index - 1].strip() == FRAGMENT
        blocks.append(Block(path, index + 1, language, body, fragment))
        index = end + 1
    return blocks


def documents() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def runnable_blocks() -> list[Block]:
    return [b for path in documents() for b in code_blocks(path) if b.language in RUNNERS and not b.fragment]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, shared_data: Path) -> Path:
    """A folder that looks like the repository root (links to its entries) with ``../shared/data`` beside it."""
    base = tmp_path_factory.mktemp("docs")
    root = base / REPO_ROOT.name
    root.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in {"runs", "site", ".git"}:
            (root / entry.name).symlink_to(entry)
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(shared_data.resolve())
    return root


def _environment() -> dict[str, str]:
    """This checkout's ``near`` first: its sources on PYTHONPATH, this interpreter's scripts on PATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT / "src"), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MPLBACKEND"] = "Agg"
    env.pop("NEAR_SHARED_DATA", None)  # the blocks say ../shared/data; the mirror provides it
    return env


@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda b: b.id)
def test_code_block_runs(block: Block, mirror: Path, tmp_path: Path) -> None:
    if block.language == "python":
        script = tmp_path / f"block_{block.line}.py"
        script.write_text(block.code, encoding="utf-8")
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    try:
        done = subprocess.run(
            command, cwd=mirror, env=_environment(), capture_output=True, text=True, timeout=BLOCK_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.id}: still running after {BLOCK_TIMEOUT} s; shorten it or mark it {FRAGMENT}")
    assert done.returncode == 0, (
        f"{block.id} ({block.language}) exited with {done.returncode}; mark it {FRAGMENT} only if it must not run.\n"
        f"--- stdout (end) ---\n{done.stdout[-3000:]}\n--- stderr (end) ---\n{done.stderr[-3000:]}"
    )


def test_code_blocks_are_found() -> None:
    """The parser sees the blocks (a broken fence pattern would make every test above vanish silently)."""
    readme = code_blocks(REPO_ROOT / "README.md")
    assert any(b.language == "python" and not b.fragment for b in readme)
    assert any(b.language == "bash" and b.fragment for b in readme)  # the quick start: .ci/run runs it
    sample = REPO_ROOT / "docs" / "getting-started-nas.md"
    languages = [(b.language, b.fragment) for b in code_blocks(sample)]
    assert ("bash", True) in languages and ("python", False) in languages


def test_fragment_marker_only_counts_immediately_before_the_fence(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"{FRAGMENT}\n```bash\nsleep 3600\n```\n\n{FRAGMENT}\n\n```python\nprint(1)\n```\n")
    assert [(b.language, b.fragment, b.code) for b in code_blocks(page)] == [
        ("bash", True, "sleep 3600\n"),
        ("python", False, "print(1)\n"),
    ]


def test_readme_is_a_short_front_door() -> None:
    size = len((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert size < 12_000, f"README.md has {size} characters; move reference material into docs/"


def test_ci_runs_the_readme_test_command() -> None:
    """The README's second quick-start command is what CI runs, word for word."""

    def words(line: str) -> list[str]:  # quiet flags aside: CI may run the same command with -q
        return [word for word in shlex.split(line, comments=True) if word not in ("-q", "-qq")]

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("pip install") and "pytest" in line]
    assert len(commands) == 1, commands
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert any(words(line) == words(commands[0]) for line in ci), f".ci/run does not run {commands[0]!r}"


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def _mkdocs_config() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with the docs extra: pip install -e '.[docs]'")
    return yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_every_page_is_in_the_navigation() -> None:
    """A page missing from ``nav`` in mkdocs.yml would be built but unreachable: add one line to its section."""
    listed = _nav_pages(_mkdocs_config()["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(set(listed)) == sorted(listed), "a page is listed twice in mkdocs.yml's nav"
    assert not set(pages) - set(listed), f"add these pages to nav in mkdocs.yml: {sorted(set(pages) - set(listed))}"
    assert not set(listed) - set(pages), f"nav lists missing pages: {sorted(set(listed) - set(pages))}"


def test_proxy_table_agrees_with_the_registry() -> None:
    """docs/proxies.md's labels / data columns say what ``near.proxies.info`` (and ``near proxies``) say."""
    import near.proxies

    rows = {}
    for line in (DOCS / "proxies.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("| `") else []
        if cells:
            rows[cells[0].strip("`")] = cells
    assert sorted(rows) == near.proxies.available()
    for name, cells in rows.items():
        info = near.proxies.info(name)
        assert cells[1].split()[0] == ("yes" if info.needs_labels else "no"), f"{name}: labels column"
        assert cells[2].split()[0] == ("yes" if info.uses_data else "no"), f"{name}: data column"


def test_site_builds_without_warnings(tmp_path: Path) -> None:
    """``mkdocs build --strict``: a broken link, a missing page or an API reference to a renamed object fails."""
    try:
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError as error:
        pytest.fail(f"the docs extra is not installed ({error}): pip install -e '.[docs]'")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=REPO_ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    assert (tmp_path / "site" / "api" / "score" / "index.html").is_file()
