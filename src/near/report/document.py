"""A report as a list of blocks, rendered twice: GitHub-flavoured Markdown and one self-contained HTML page.

Building the content once and rendering it twice keeps the two files saying exactly the same thing.
The HTML embeds every image as a base64 data URI and carries its own CSS: no script, no network.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """Plain text; ``code`` renders it as a preformatted block (commands)."""

    text: str
    code: bool = False


@dataclass(frozen=True)
class Table:
    """``header`` and ``rows`` are formatted strings; the first column is left-aligned, the others right
    (numbers) unless ``numeric`` is false."""

    header: list[str]
    rows: list[list[str]]
    numeric: bool = True


@dataclass(frozen=True)
class Image:
    """A PNG, written to ``report_files/<name>`` for the Markdown and embedded in the HTML."""

    name: str
    png: bytes
    caption: str


@dataclass(frozen=True)
class Folded:
    """Blocks folded away behind a one-line summary (``<details>``; GitHub's Markdown renders it too): material
    a reader may want (the settings of a run), kept out of the way of the results."""

    summary: str
    blocks: tuple  # of Block; a tuple keeps the dataclass hashable and immutable


Block = Heading | Paragraph | Table | Image | Folded

FILES = "report_files"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #eee; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ddd; padding: .3em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.text th, table.text td { text-align: left; }
th { background: #f4f4f4; }
tr:nth-child(even) td { background: #fafafa; }
pre { background: #f6f8fa; padding: .8em; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
details { margin: 1.5em 0; border: 1px solid #ddd; border-radius: 4px; padding: .4em .9em; }
summary { cursor: pointer; font-weight: 600; }
td { overflow-wrap: anywhere; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .9em; }
"""


def images(blocks: list[Block]) -> dict[str, bytes]:
    """Every image of ``blocks`` by file name, folded ones included."""
    found: dict[str, bytes] = {}
    for block in blocks:
        if isinstance(block, Image):
            found[block.name] = block.png
        elif isinstance(block, Folded):
            found.update(images(list(block.blocks)))
    return found


def render_markdown(blocks: list[Block]) -> str:
    """Markdown with images linked relative to the report (``report_files/<name>``)."""
    parts = []
    for block in blocks:
        if isinstance(block, Folded):
            inner = render_markdown(list(block.blocks)).rstrip("\n")
            parts.append(f"<details>\n<summary>{_text(block.summary)}</summary>\n\n{inner}\n\n</details>")
        elif isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(f"```\n{block.text}\n```" if block.code else block.text)
        elif isinstance(block, Table):
            rest = "---:" if block.numeric else ":---"
            lines = [_md_row(block.header), "|" + "|".join([":---"] + [rest] * (len(block.header) - 1)) + "|"]
            parts.append("\n".join(lines + [_md_row(row) for row in block.rows]))
        else:
            parts.append(f"![{block.caption}]({FILES}/{block.name})\n\n*{block.caption}*")
    return "\n\n".join(parts) + "\n"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render_html(blocks: list[Block], title: str) -> str:
    """One HTML page with inline CSS and images as data URIs."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + _html_body(blocks)
        + "\n</body>\n</html>\n"
    )


def _html_body(blocks: list[Block]) -> str:
    body = []
    for block in blocks:
        if isinstance(block, Folded):
            inner = _html_body(list(block.blocks))
            body.append(f"<details>\n<summary>{_text(block.summary)}</summary>\n{inner}\n</details>")
        elif isinstance(block, Heading):
            body.append(f"<h{block.level}>{_text(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            text = _text(block.text)
            body.append(f"<pre><code>{text}</code></pre>" if block.code else f"<p>{text}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_text(cell)}</th>" for cell in block.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>\n" for row in block.rows
            )
            style = "" if block.numeric else ' class="text"'
            body.append(f"<table{style}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>")
        else:
            data = base64.b64encode(block.png).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(block.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{_text(block.caption)}</figcaption></figure>"
            )
    return "\n".join(body)


def _text(text: str) -> str:
    """Escaped for element content (quotes stay readable: they need escaping only inside attributes)."""
    return html.escape(text, quote=False)
