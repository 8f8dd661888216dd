"""The document model every reader produces: ordered blocks of type text / table / image / formula.

A `Block` keeps its caption, its label ("Table 2", "Figure 1", "Eq. (3)") and its source location
(`span`: character offsets in the decoded source; `page` for PDF / MinerU / slides; for PDF the offsets
are in the page's text, blocks joined by blank lines). Readers never raise on bad content: they append
an `IngestIssue` (file + reason) to `Document.issues` and go on.

Block contract (what the graph builder and the question generators rely on):
- text: `text` is the paragraph (links reduced to their text, emphasis stripped; `links` keeps
  [{"text", "url"}]); a heading has `heading_level` > 0; `section` is the " / "-joined heading path.
- table: `rows` with the header row first (multi-level headers flattened to one row, "Group / Sub";
  merged / spanning cells repeated in each row they span), `caption` / `text` the caption, `label`
  from the caption's number ("Table 10"), else the ordinal when no caption claims that number, else "".
  A PDF table also carries a PNG crop of its region on the rendered page in `image_bytes`
  (`image_status="embedded"`, `image_size`, `image_sha` = sha1 of the PNG bytes, `page`).
- image: `caption`, `label`; `image_status` is ok (a file inside the input folder: `image_path`
  relative to it) | embedded (the bytes travel in `image_bytes`: a PDF figure cropped from the rendered
  page as PNG, an image inside an Office file or a `data:` URI; the kg build writes them under
  OUT/kg/assets/) | remote (a URL, recorded in `image_path`, never fetched) | missing | corrupt |
  outside_input. PDF figures have `page`; text inside a figure (axis labels, legends) is not a block.
- formula: `text` is the LaTeX (or readable text), `label` "Eq. (N)".
`Document.meta` holds document metadata (Markdown front matter, Office core properties).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

BLOCK_TYPES = ("text", "table", "image", "formula")


@dataclass
class Block:
    type: str  # text | table | image | formula
    text: str = ""  # text: the paragraph; formula: the LaTeX; table: the caption; image: the caption
    index: int = 0
    span: tuple[int, int] = (0, 0)
    page: int | None = None
    section: str = ""  # heading path, " / "-joined
    heading_level: int = 0  # > 0 for a heading (type "text")
    caption: str = ""
    label: str = ""  # canonical label: "Table 1", "Figure 2", "Eq. (3)" ("" when none)
    rows: list[list[str]] = field(default_factory=list)  # table: header row first
    image_path: str = ""  # image: path relative to the input root ("" when none)
    image_status: str = ""  # image: ok | missing | corrupt | outside_input | embedded
    image_sha: str = ""
    image_size: tuple[int, int] = (0, 0)
    image_bytes: bytes | None = field(default=None, repr=False)  # embedded images and PDF crops (PNG)
    links: list[dict] = field(default_factory=list)  # [{"text", "url"}] of the links in the block

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("image_bytes")
        d["span"] = list(self.span)
        d["image_size"] = list(self.image_size)
        return d


@dataclass
class IngestIssue:
    file: str
    reason: str
    stage: str = "ingest"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Document:
    path: str  # relative to the input root
    blocks: list[Block] = field(default_factory=list)
    title: str = ""
    sha: str = ""  # sha1 of the raw bytes
    issues: list[IngestIssue] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # front matter / core properties (title, author, date, ...)

    def issue(self, reason: str) -> None:
        self.issues.append(IngestIssue(self.path, reason))

    def renumber(self) -> Document:
        for i, b in enumerate(self.blocks):
            b.index = i
        return self

    def of_type(self, t: str) -> list[Block]:
        return [b for b in self.blocks if b.type == t]


# ---------------------------------------------------------------- labels and references

_KIND_WORDS = {
    "table": r"Tables?|Tab\.",
    "image": r"Figures?|Figs?\.",
    "formula": r"Equations?|Eqs?\.",
}
# "Table 2", "Fig. 3", "Eq. (1)", "Equation 4", "Eqs. (2)"; one pattern per kind (figures are not tables).
REF_PATTERNS = {k: re.compile(rf"\b(?:{w})\s*\(?(\d+)\)?", re.I) for k, w in _KIND_WORDS.items()}
_CAPTION_START = {k: re.compile(rf"^\s*\**\s*(?:{w})\s*\(?(\d+)\)?\s*\**\s*[:.\-]?", re.I) for k, w in _KIND_WORDS.items()}


def make_label(kind: str, number: int) -> str:
    return {"table": f"Table {number}", "image": f"Figure {number}", "formula": f"Eq. ({number})"}[kind]


def caption_number(kind: str, caption: str) -> int | None:
    """The number a caption starts with ("Table 2: ..." -> 2), else None."""
    m = _CAPTION_START[kind].match(caption or "")
    return int(m.group(1)) if m else None


def find_references(text: str) -> list[tuple[str, int, tuple[int, int]]]:
    """In-text references: (kind, number, span) for each "Table N" / "Figure N" / "Eq. (N)" mention."""
    out = []
    for kind, pat in REF_PATTERNS.items():
        for m in pat.finditer(text):
            out.append((kind, int(m.group(1)), (m.start(), m.end())))
    return sorted(out, key=lambda r: r[2])


def assign_labels(doc: Document) -> Document:
    """Give each table / image / formula its label: its caption's number, else its ordinal unless a
    caption of the document already claims that number (then no label: "Table 3" never names two)."""
    counters = {"table": 0, "image": 0, "formula": 0}
    claimed = {(b.type, caption_number(b.type, b.caption)) for b in doc.blocks if b.type in counters}
    claimed |= {(b.type, int(m.group(1))) for b in doc.blocks if b.type in counters and b.label
                for m in [re.search(r"(\d+)", b.label)] if m}
    for b in doc.blocks:
        if b.type not in counters:
            continue
        counters[b.type] += 1
        if b.label:
            continue
        n = caption_number(b.type, b.caption)
        if n is None and (b.type, counters[b.type]) in claimed:
            continue
        b.label = make_label(b.type, n if n is not None else counters[b.type])
    return doc


REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
MAX_IMAGE_BYTES = 50_000_000
MAX_IMAGE_PIXELS = 100_000_000


def rel_inside(root: Path, base: Path, target: str) -> tuple[Path | None, str]:
    """Resolve `target` (relative to `base`) and check it lies inside `root`.

    Returns (absolute path, "") when inside, else (None, reason). Nothing is read.
    """
    if REMOTE.match(target):
        return None, f"remote image {target!r} is not fetched"
    try:
        p = (base / target.split("#")[0].split("?")[0]).resolve()
    except (OSError, RuntimeError, ValueError) as e:  # a link loop, a NUL byte
        return None, f"image path {target!r} cannot be resolved ({type(e).__name__})"
    try:
        p.relative_to(root.resolve())
    except ValueError:
        return None, f"image path {target!r} points outside the input folder"
    return p, ""


def load_image_info(doc: Document, block: Block, root: Path, base: Path, target: str) -> None:
    """Fill image_path / status / sha / size for an image block, reporting problems on the document."""

    block.image_path = target
    if target.startswith("data:"):
        block.image_path = ""
        data = _data_uri(target)
        if data is None:
            block.image_status = "corrupt"
            doc.issue("a data: image that is not valid base64 or over the size limit")
            return
        if image_info(doc, block, data, "a data: image"):
            block.image_bytes, block.image_status = data, "embedded"
        return
    if REMOTE.match(target):
        block.image_status = "remote"  # recorded, never fetched
        return
    p, why = rel_inside(root, base, target)
    if p is None:
        block.image_status = "outside_input"
        doc.issue(why)
        return
    block.image_path = p.relative_to(root.resolve()).as_posix()
    if not p.is_file():
        block.image_status = "missing"
        doc.issue(f"image {target!r} is missing")
        return
    try:
        if p.stat().st_size > MAX_IMAGE_BYTES:
            block.image_status = "corrupt"
            doc.issue(f"image {target!r} is over {MAX_IMAGE_BYTES} bytes; not read")
            return
        data = p.read_bytes()
    except OSError as e:
        block.image_status = "corrupt"
        doc.issue(f"image {target!r} is unreadable ({type(e).__name__}: {e})")
        return
    if image_info(doc, block, data, repr(target)):
        block.image_status = "ok"


def image_info(doc: Document, block: Block, data: bytes, name: str) -> bool:
    """Check `data` is an image within the pixel limit (read from the header) and fill size / sha;
    report and mark the block corrupt otherwise."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > MAX_IMAGE_PIXELS:
                raise ValueError(f"{im.size[0]}x{im.size[1]} pixels is over the limit of {MAX_IMAGE_PIXELS}")
            im.verify()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            block.image_size = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        block.image_status = "corrupt"
        doc.issue(f"image {name} is corrupt or unreadable ({type(e).__name__}: {e})")
        return False
    block.image_sha = hashlib.sha1(data).hexdigest()
    return True


def _data_uri(uri: str) -> bytes | None:
    import base64
    import binascii

    head, _, payload = uri.partition(",")
    if ";base64" not in head or len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return None
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None


def normalize_rows(doc: Document, rows: list[list[str]], label: str = "table") -> list[list[str]]:
    """Pad/cut ragged rows to the header width, reporting each one."""
    rows = [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]
    if not rows:
        return rows
    width = len(rows[0])
    for i, r in enumerate(rows[1:], start=1):
        if len(r) != width:
            doc.issue(f"{label}: row {i} has {len(r)} cells, header has {width} (padded/cut)")
            rows[i] = (r + [""] * width)[:width]
    return rows


def display_path(name: str) -> str:
    """A file name safe for JSON and logs: invalid UTF-8 bytes (os.fsdecode's surrogates) as \\xNN."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") \
            if all(not ("\ud800" <= c <= "\udc7f" or "\udd00" <= c <= "\udfff") for c in name) \
            else name.encode("utf-8", "backslashreplace").decode("ascii")


def decode_text(raw: bytes, doc: Document) -> str:
    """UTF-8 (with BOM) else report and decode with replacement characters."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        doc.issue(f"not valid UTF-8 (byte {e.start}: {e.reason}); decoded with replacement characters")
        return raw.decode("utf-8", errors="replace")
