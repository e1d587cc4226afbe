"""Course pages (Markdown) into plain data: title, objectives, sections, resources.

Pure functions, no database: `parse_page(text, ...)` returns a `ParsedPage` or
raises `PageError` (bad input, with the line) or `NotACoursePage` (skip it).
Structure comes from markdown-it's token stream, never from regexes over the
source, so a `#` line inside a code block is not a heading.

Rules chosen for the course's page format:
- Title: the first `#` heading, else the first heading of any level, else the
  front matter `title`, else the file name. The title heading is not a section.
- Intro: everything between the title and the first `##` heading.
- Objectives: a list directly after a lead-in such as "After this module, you
  will be able to:" (bold or not, "chapter"/"datalab"/...). A checkbox list
  without a lead-in is ordinary content. With several lists, each objective's
  group is the heading above its lead-in.
- Sections: each `##` (or later `#`) heading; deeper headings stay inside.
- Resources: rows of a table whose first column holds links (kind "table");
  items of a bulleted list that are a link (the item starts with the link, or
  the link's text is at least half the item's text) (kind "link"); YouTube
  iframes (kind "video"), captioned by the italic paragraph that follows.
  Resource tables and lists that became resources entirely are taken out of
  the section's HTML: the page shows them as tickable resources instead.
- Time to complete: hours and minutes in any mix ("1.5h", "2h 30m", "90 min");
  a range counts its upper end ("1-2 hours" is 120), so "time left" errs long.
  Anything else ("... hours", "a weekend") keeps its text with no minutes.
- Not a course page (skipped, not failed): an empty file, or one with neither
  a heading nor front matter.
- Unresolvable relative links (no base URL) show their text; images their alt
  text in a `<span class="image-alt">`, never a broken image.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urljoin

import emoji
import nh3
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

# Bump when parsing or rendering changes, so that re-imports refresh every page.
IMPORTER_VERSION = "5"

_md = MarkdownIt("commonmark", {"html": True}).enable("table").use(tasklists_plugin)


class PageError(ValueError):
    """The page cannot be imported; `line` is 1-based in the file, when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message, line)  # both in args, so it survives pickling
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class NotACoursePage(ValueError):
    """The file is not a course page (empty, or no heading and no front matter)."""


@dataclass
class ParsedObjective:
    text: str
    key: str
    group: str = ""


@dataclass
class ParsedResource:
    kind: str  # "table", "link" or "video", as Resource.Kind
    title: str
    url: str
    section: int | None  # index into ParsedPage.sections; None for the intro
    material_type: str = ""
    developer: str = ""
    time_text: str = ""
    minutes: int | None = None
    level: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    key: str = ""


@dataclass
class ParsedSection:
    title: str
    anchor: str
    html: str


@dataclass
class ParsedPage:
    title: str
    sort: int | None
    intro_html: str
    objectives: list[ParsedObjective]
    sections: list[ParsedSection]
    resources: list[ParsedResource]
    parent: str = ""  # front matter `parent`: the title of the page it sits under


# ---------------------------------------------------------------------------
# Reading: bytes, front matter


def decode(raw: bytes) -> str:
    """UTF-8 text with the BOM dropped and line endings made `\\n`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PageError(f"not UTF-8: byte {exc.start} cannot be decoded", line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.M)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def split_front_matter(text: str) -> tuple[dict, str]:
    """(front matter, body); a page without front matter has {}."""
    if not re.match(r"---[ \t]*\n", text):
        return {}, text
    start = text.index("\n") + 1
    end = _FENCE.search(text, start)
    if end is None:
        raise PageError("front matter opened with --- is never closed with ---", 1)
    source = text[start : end.start()]
    body_start = text.find("\n", end.end())
    body = "" if body_start < 0 else text[body_start + 1 :]
    try:
        meta = yaml.load(source, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "it cannot be parsed"
        # "found unexpected end of stream" points at the closing `---` and hides the cause:
        # an unclosed quote opened earlier, which YAML names as the context with its line.
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        unclosed = "end of stream" in problem and context and start and mark
        if unclosed and start.line != mark.line:
            problem = f"{problem} ({context} opened on line {start.line + 2})"
        raise PageError(
            f"front matter is not valid YAML: {problem}", mark and mark.line + 2
        ) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise PageError("front matter must be a mapping such as `sort: 3`", 2)
    return meta, body


def _key_line(text: str, key: str) -> int | None:
    match = re.search(rf"^{key}\s*:", text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else None


def front_matter_sort(meta: dict, text: str) -> int | None:
    value = meta.get("sort")
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PageError(
            f"front matter `sort` must be a whole number, not {value!r}", _key_line(text, "sort")
        )
    return value


def front_matter_text(meta: dict, key: str) -> str:
    """A front matter value as one line of text; "" when absent or not a scalar."""
    value = meta.get(key)
    if value is None or isinstance(value, (dict, list)):
        return ""
    return " ".join(_emojize(str(value)).split())


# ---------------------------------------------------------------------------
# Small text helpers


def normalise(text: str, limit: int = 300) -> str:
    """Lower case words only: the matching key of an objective or a title."""
    return " ".join(re.findall(r"\w+", text.lower()))[:limit]


def _emojize(text: str) -> str:
    return emoji.emojize(text, language="alias") if ":" in text else text


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.lower(), flags=re.ASCII).strip("-")[:80]


_HOURS = ("h", "hr", "hrs", "hour", "hours")
_MINUTES = ("m", "min", "mins", "minute", "minutes")
_TIME_UNITS = {**dict.fromkeys(_HOURS, 60), **dict.fromkeys(_MINUTES, 1)}
_TIME_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:(?:-|–|to)\s*(\d+(?:[.,]\d+)?)\s*)?([a-z]+)")


def parse_minutes(text: str) -> int | None:
    """Minutes in "3 hours", "90 min", "1.5h", "2h 30m"; a range counts its upper end.

    Anything else ("... hours", "a weekend", a bare number) has no estimate.
    """
    value = text.strip().lower()
    # "1h30", "1 hr 30": minutes after hours may go without their unit.
    value = re.sub(r"(\d\s*(?:h|hrs?|hours?))\s*(\d{1,2})$", r"\1 \2 min", value)
    parts = list(_TIME_PART.finditer(value))
    leftover = _TIME_PART.sub("", value).strip(" ~≈+,.")
    if not parts or re.sub(r"\b(and|approx|about|ca|circa)\b", "", leftover).strip(" ~≈+,."):
        return None
    total = 0.0
    for low, high, unit in (part.groups() for part in parts):
        if unit not in _TIME_UNITS:
            return None
        total += float((high or low).replace(",", ".")) * _TIME_UNITS[unit]
    return round(total) or None


# ---------------------------------------------------------------------------
# Tokens: blocks, inline text and links


def _blocks(tokens: list[Token]) -> list[list[Token]]:
    """Split a token stream into its top-level blocks (a paragraph, a list ...)."""
    blocks, current, depth = [], [], 0
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth == 0:
            blocks.append(current)
            current = []
    return blocks


def _plain(inline: Token | None) -> str:
    if inline is None:
        return ""
    words = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            words.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            words.append(" ")
    return " ".join("".join(words).split())


def _links(inline: Token) -> list[tuple[str, str]]:
    """(href, text) of each link in an inline token."""
    links, href, words = [], None, []
    for child in inline.children or []:
        if child.type == "link_open":
            href, words = str(child.attrs.get("href", "")), []
        elif child.type == "link_close" and href is not None:
            links.append((href, " ".join("".join(words).split())))
            href = None
        elif href is not None and child.type in ("text", "code_inline"):
            words.append(child.content)
    return links


def _first_inline(block: list[Token]) -> Token | None:
    return next((t for t in block if t.type == "inline"), None)


def _emojize_tokens(tokens: list[Token]) -> None:
    """Shortcodes to emoji in text and raw HTML, never in code."""
    for token in tokens:
        if token.type == "html_block":
            token.content = _emojize(token.content)
        for child in token.children or []:
            if child.type in ("text", "html_inline"):
                child.content = _emojize(child.content)


# ---------------------------------------------------------------------------
# URLs and sanitising


class Urls:
    """Resolves a page's relative links and images against the course base URL."""

    def __init__(self, base_url: str, page_dir: str = ""):
        self.base = base_url.rstrip("/") + "/" if base_url.strip() else ""
        if self.base and page_dir.strip("/"):
            self.base = urljoin(self.base, page_dir.strip("/") + "/")

    def relative(self, url: str) -> str | None:
        """nh3's url_relative callback: None drops the URL (no base to resolve it)."""
        if url.startswith("#"):
            return url
        try:
            return urljoin(self.base, url) if self.base else None
        except ValueError:  # e.g. a malformed IPv6 host
            return None

    def absolute(self, url: str) -> str:
        """An http(s) URL for a resource, or "" when there is none."""
        url = url.strip()
        if url.startswith("//"):
            url = "https:" + url
        elif not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", url):
            url = self.relative(url) or ""
        # Longer than Resource.url allows: better no link than a cut one.
        return url if re.match(r"https?://", url) and len(url) <= 2000 else ""


_YOUTUBE = re.compile(
    r"^(?:https?:)?//(?:www\.)?(?:youtube\.com|youtube-nocookie\.com)/embed/([\w-]+)(?:[?#][^\"'\s]*)?$"
)
_TAGS = (nh3.ALLOWED_TAGS - {"map", "area"}) | {"iframe", "input"}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "iframe": {"src", "width", "height", "title", "allow", "allowfullscreen", "frameborder"},
    "div": {"class"},
    "span": {"class"},
    "p": {"align"},
    "code": {"class"},
    "pre": {"class"},
    "ul": {"class"},
    "li": {"class"},
    "input": {"checked", "disabled", "class"},
    "details": {"open"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start"},
}


def _only_youtube_iframes(tag: str, attribute: str, value: str) -> str | None:
    if tag == "iframe" and attribute == "src" and not _YOUTUBE.match(value):
        return None
    return value


_UNRESOLVED_LINK = re.compile(r'<a((?:\s(?!href=)[\w-]+="[^"]*")*)>(.*?)</a>', re.S)
_UNRESOLVED_IMG = re.compile(r"<img((?:\s(?!src=)[\w-]+(?:=\"[^\"]*\")?)*)\s*/?>")
_EMPTY_IFRAME = re.compile(r"<iframe((?:\s(?!src=)[\w-]+(?:=\"[^\"]*\")?)*)>.*?</iframe>", re.S)
_EXTERNAL_LINK = re.compile(r'<a(?=(?:\s[\w-]+="[^"]*")*\shref="https?://)')


def _alt_text(match: re.Match) -> str:
    alt = re.search(r'\salt="([^"]*)"', match.group(1))
    return f'<span class="image-alt">{alt.group(1)}</span>' if alt and alt.group(1).strip() else ""


def sanitise(raw_html: str, urls: Urls) -> str:
    """Safe HTML: nh3 with the course's tags, then unresolved links shown as text."""
    clean = nh3.clean(
        raw_html,
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        attribute_filter=_only_youtube_iframes,
        tag_attribute_values={"input": {"type": {"checkbox"}}},
        set_tag_attribute_values={"iframe": {"loading": "lazy"}},
        filter_style_properties={"text-align"},
        url_schemes={"http", "https", "mailto"},
        url_relative=urls.relative,
    )
    clean = _UNRESOLVED_LINK.sub(r"\2", clean)
    clean = _UNRESOLVED_IMG.sub(_alt_text, clean)
    clean = _EMPTY_IFRAME.sub("", clean)
    return _EXTERNAL_LINK.sub('<a target="_blank"', clean)


# ---------------------------------------------------------------------------
# The page walk


_LEAD_IN = re.compile(r"^\W*(?:after|by the end of)\s+(?:this|the|completing this)\s+\w+", re.I)


def _is_lead_in(text: str) -> bool:
    return (
        bool(_LEAD_IN.match(text))
        and len(text) < 300
        and ("able to" in text.lower() or text.endswith(":"))
    )


def _list_items(block: list[Token]) -> list[list[Token]]:
    level = block[0].level + 1
    return _blocks([t for t in block[1:-1] if t.level >= level])


def _item_text(item: list[Token]) -> str:
    """The text of a list item's own paragraphs (not of nested lists)."""
    level = item[0].level + 2
    text = " ".join(_plain(t) for t in item if t.type == "inline" and t.level == level)
    return re.sub(r"^\[[ xX]?\]\s*", "", text).strip()


def _is_list(block: list[Token]) -> bool:
    return block[0].type in ("bullet_list_open", "ordered_list_open")


def _objectives(block: list[Token], group: str) -> list[ParsedObjective]:
    texts = [_item_text(item) for item in _list_items(block)]
    return [ParsedObjective(text=t, key=normalise(t), group=group) for t in texts if t]


def _link_item(item: list[Token]) -> tuple[str, str, str] | None:
    """(title, href, rest of the text) when a list item is mainly one link."""
    inline = next((t for t in item if t.type == "inline" and t.level == item[0].level + 2), None)
    links = _links(inline) if inline else []
    text = _item_text(item)
    if not links or not links[0][1] or not text:
        return None
    href, title = links[0]
    if text.startswith(title) or len(title) * 2 >= len(text):
        rest = text.removeprefix(title).strip(" -–—:,;")
        return title, href, rest
    return None


# Table headers (lower case, letters only) that fill a Resource field.
_HEADER_NAMES = {
    "title": ("title", "name", "resource"),
    "material_type": ("typeoflearningmaterial", "type", "typeofmaterial", "format"),
    "developer": ("developer", "author", "provider", "by"),
    "time_text": ("timetocomplete", "time", "duration", "estimatedtime"),
    "level": ("level", "difficulty"),
}
_HEADER_FIELDS = {name: field for field, names in _HEADER_NAMES.items() for name in names}
_LIMITS = {"title": 500, "material_type": 200, "developer": 200, "time_text": 100, "level": 100}


def _table_rows(block: list[Token]) -> tuple[list[str], list[list[Token]]]:
    """(header texts, body rows of cell inline tokens)."""
    rows: list[list[Token]] = []
    for token in block:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline":
            rows[-1].append(token)
    header = [_plain(cell) for cell in rows[0]] if rows else []
    return header, rows[1:]


def _table_resources(block: list[Token], urls: Urls, section: int | None) -> list[ParsedResource]:
    """Rows of a table whose first column holds links; [] for any other table."""
    header, rows = _table_rows(block)
    rows = [row for row in rows if row and _plain(row[0])]
    if not rows or sum(bool(_links(row[0])) for row in rows) * 2 < len(rows):
        return []
    resources = []
    for row in rows:
        links = _links(row[0])
        values = {"title": _plain(row[0]), "extra": {}}
        for index, cell in enumerate(row[1:], start=1):
            name = header[index] if index < len(header) and header[index] else f"Column {index + 1}"
            target = _HEADER_FIELDS.get(re.sub(r"\W", "", name.lower()))
            if target and target not in values:
                values[target] = _plain(cell)[: _LIMITS[target]]
            elif _plain(cell):
                values["extra"][name] = _plain(cell)
        values["title"] = values["title"][:500]
        minutes = parse_minutes(values.get("time_text", ""))
        url = urls.absolute(links[0][0]) if links else ""
        resources.append(
            ParsedResource(kind="table", url=url, section=section, minutes=minutes, **values)
        )
    return resources


_IFRAME = re.compile(r"<iframe\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)[^>]*>", re.I)
_IFRAME_TITLE = re.compile(r"\btitle\s*=\s*[\"']([^\"']*)", re.I)


def _videos(raw_html: str, caption: str, section: int | None) -> list[ParsedResource]:
    videos = []
    for match in _IFRAME.finditer(raw_html):
        youtube = _YOUTUBE.match(html.unescape(match.group(1)))
        if not youtube:
            continue
        title_attr = _IFRAME_TITLE.search(match.group(0))
        title = caption or (title_attr.group(1) if title_attr else "") or "Video"
        if title.lower() == "youtube video player":
            title = "Video"
        url = f"https://www.youtube.com/watch?v={youtube.group(1)}"
        videos.append(ParsedResource(kind="video", title=title[:500], url=url, section=section))
    return videos


def _caption(block: list[Token] | None) -> str:
    """The text of an italic paragraph (`*Video 1. ...*`) following an embed."""
    if not block or block[0].type != "paragraph_open":
        return ""
    children = _first_inline(block).children or []
    if children and children[0].type == "em_open" and children[-1].type == "em_close":
        return _plain(_first_inline(block))
    return ""


@dataclass
class _Part:
    """The intro (title None) or one section while the page is walked."""

    title: str | None
    tokens: list[Token] = field(default_factory=list)


class _Walk:
    """One pass over a page's top-level blocks, sorting each into its place."""

    def __init__(self, blocks: list[list[Token]], urls: Urls):
        self.blocks, self.urls = blocks, urls
        self.parts = [_Part(title=None)]
        self.objective_lists: list[tuple[str, list[ParsedObjective]]] = []
        self.resources: list[ParsedResource] = []
        self.heading = ""  # the latest heading, for objective groups

    @property
    def section(self) -> int | None:
        return len(self.parts) - 2 if len(self.parts) > 1 else None

    def run(self, title_index: int | None) -> None:
        skip = {title_index}
        for index, block in enumerate(self.blocks):
            if index in skip:
                continue
            lists = self._objective_lists(index)
            if lists:
                skip.update(range(index + 1, index + 1 + lists))
            else:
                following = self.blocks[index + 1] if index + 1 < len(self.blocks) else None
                self._block(block, following)

    def _objective_lists(self, index: int) -> int:
        """How many lists follow a lead-in at `index` (0 if it is no lead-in).

        Adjacent lists count as one: `*` and `-` items start separate lists.
        """
        block = self.blocks[index]
        if block[0].type not in ("paragraph_open", "heading_open"):
            return 0
        text = _plain(_first_inline(block))
        lists = list(itertools.takewhile(_is_list, self.blocks[index + 1 :]))
        if not lists or not _is_lead_in(text):
            return 0
        objectives = [o for items in lists for o in _objectives(items, "")]
        self.objective_lists.append((self.heading or text.rstrip(":"), objectives))
        return len(lists)

    def _block(self, block: list[Token], following: list[Token] | None) -> None:
        kind = block[0].type
        if kind == "heading_open" and block[0].tag in ("h1", "h2"):
            self.heading = _plain(_first_inline(block))
            self.parts.append(_Part(title=self.heading))
            return
        if kind == "heading_open":
            self.heading = _plain(_first_inline(block))
        elif kind == "table_open":
            rows = _table_resources(block, self.urls, self.section)
            self.resources += rows
            if rows:
                return
        elif kind == "bullet_list_open" and self._link_list(block):
            return
        elif kind == "html_block" or kind == "paragraph_open":
            raw = block[0].content if kind == "html_block" else _first_inline(block).content
            if "<iframe" in raw.lower():
                self.resources += _videos(raw, _caption(following), self.section)
        self.parts[-1].tokens += block

    def _link_list(self, block: list[Token]) -> bool:
        """Adds the list's link items as resources; True when every item was one."""
        items = _list_items(block)
        found = [(item, _link_item(item)) for item in items]
        for _item, link in found:
            if link:
                title, href, rest = link
                extra = {"note": rest} if rest else {}
                url = self.urls.absolute(href)
                self.resources.append(
                    ParsedResource(
                        kind="link", title=title[:500], url=url, section=self.section, extra=extra
                    )
                )
        nested = any(t.type.endswith("list_open") for item in items for t in item[1:])
        return not nested and all(link for _item, link in found)


def _drop_edge_rules(tokens: list[Token]) -> list[Token]:
    """Pages separate parts with `***`; at the edge of a part it is noise."""
    while tokens and tokens[0].type == "hr":
        tokens = tokens[1:]
    while tokens and tokens[-1].type == "hr":
        tokens = tokens[:-1]
    return tokens


def _render(tokens: list[Token], urls: Urls) -> str:
    tokens = _drop_edge_rules(tokens)
    return sanitise(_md.renderer.render(tokens, _md.options, {}), urls) if tokens else ""


def _title(blocks: list[list[Token]]) -> tuple[int | None, str]:
    headings = [(i, b) for i, b in enumerate(blocks) if b[0].type == "heading_open"]
    for index, block in [h for h in headings if h[1][0].tag == "h1"] + headings:
        text = _plain(_first_inline(block))
        if text:
            return index, text
    return None, ""


def _unique_keys(items: list, key) -> None:
    """Sets `.key` on each item, numbering repeats so every key is unique in the page."""
    seen: dict[str, int] = {}
    for item in items:
        base = key(item)
        seen[base] = seen.get(base, 0) + 1
        # Cut to fit the shortest key column (Objective.key, 300) with the suffix.
        item.key = base if seen[base] == 1 else f"{base[:280]}~{seen[base]}"


def _resource_key(resource: ParsedResource) -> str:
    return f"{resource.kind}:{resource.url or normalise(resource.title)}"[:480]


def _group_objectives(lists: list[tuple[str, list[ParsedObjective]]]) -> list[ParsedObjective]:
    several = len([objectives for _group, objectives in lists if objectives]) > 1
    result = []
    for group, objectives in lists:
        for objective in objectives:
            objective.group = group[:300] if several else ""
            result.append(objective)
    return result


_MARKDOWN_IN_HTML = re.compile(
    r"^([ \t]{0,3}<(?:div|details|section|aside|article)\b[^>\n]*"
    r"\smarkdown\s*=\s*[\"']?(?:1|block)[\"']?[^>\n]*>)[ \t]*\n(?=[ \t]*\S)",
    re.M | re.I,
)


def _open_markdown_blocks(body: str) -> str:
    """kramdown's `<div markdown="1">`: a blank line after the tag, so its inside is Markdown.

    CommonMark ends an HTML block only at a blank line, so without one the
    callout's **bold** and lists would show as raw Markdown.
    """
    return _MARKDOWN_IN_HTML.sub(r"\1\n\n", body) if "markdown" in body else body


def parse_page(
    text: str,
    *,
    base_url: str = "",
    page_dir: str = "",
    fallback_title: str = "",
    readme: bool = False,
) -> ParsedPage:
    """Parse one decoded course page. Raises PageError or NotACoursePage."""
    meta, body = split_front_matter(text)
    sort = front_matter_sort(meta, text)
    if not body.strip() and not meta:
        raise NotACoursePage("empty file")
    if readme and not meta:
        # Course pages carry front matter (sort); a bare README is the repository's notes.
        raise NotACoursePage("a README without front matter: repository notes, not a page")
    tokens = _md.parse(_open_markdown_blocks(body))
    _emojize_tokens(tokens)
    blocks = _blocks(tokens)
    title_index, title = _title(blocks)
    if not title and not meta:
        raise NotACoursePage("no heading and no front matter: not a course page")
    title = title or _emojize(str(meta.get("title") or "")).strip() or fallback_title
    urls = Urls(base_url, page_dir)
    walk = _Walk(blocks, urls)
    walk.run(title_index)
    sections, anchors = [], set()
    for number, part in enumerate(walk.parts[1:], start=1):
        anchor = _slug(part.title or "") or f"section-{number}"
        anchor = anchor if anchor not in anchors else f"{anchor}-{number}"
        anchors.add(anchor)
        sections.append(
            ParsedSection(
                title=(part.title or "")[:300], anchor=anchor, html=_render(part.tokens, urls)
            )
        )
    objectives = _group_objectives(walk.objective_lists)
    _unique_keys(objectives, lambda o: o.key)
    _unique_keys(walk.resources, _resource_key)
    return ParsedPage(
        title=title[:300],
        sort=sort,
        intro_html=_render(walk.parts[0].tokens, urls),
        objectives=objectives,
        sections=sections,
        resources=walk.resources,
        parent=front_matter_text(meta, "parent")[:300],
    )


def parse_file(raw: bytes, source_path: str, base_url: str) -> ParsedPage | ValueError:
    """Parse a page's bytes; errors are returned, not raised, to cross process pools."""
    path = PurePosixPath(source_path)
    try:
        return parse_page(
            decode(raw),
            base_url=base_url,
            page_dir=str(path.parent).strip("."),
            fallback_title=path.stem.replace("-", " ").replace("_", " "),
            readme=path.stem.lower() == "readme",
        )
    except (PageError, NotACoursePage) as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a parser bug must fail one page, not the course
        return ValueError(f"unexpected error: {exc!r}")


def content_hash(raw: bytes, *settings: str) -> str:
    """Changes when the file, the importer or anything else it was imported with changes."""
    digest = hashlib.sha256(IMPORTER_VERSION.encode())
    for value in settings:
        digest.update(b"\0" + value.encode())
    digest.update(b"\0" + raw)
    return digest.hexdigest()
