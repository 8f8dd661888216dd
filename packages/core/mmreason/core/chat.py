"""Chats with images: the one message format every backend takes.

A chat is a list of messages, OpenAI/HF style::

    [{"role": "system", "content": "..."},
     {"role": "user", "content": [{"type": "image", "image": <PIL.Image>},
                                  {"type": "text", "text": "What colour is the shape?"}]}]

`content` is a string or a list of parts; an image part carries the PIL image itself, so a chat is
self-contained. `record_to_chat` turns a schema record (DESIGN.md) into a chat: each `<image>` marker
in `problem` becomes the next image; images without markers go first.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from .schema import IMAGE_MARKER

Chat = list[dict[str, Any]]


def to_pil(im: Any) -> Image.Image:
    """A PIL RGB image from a PIL image, a `datasets` image dict ({'bytes', 'path'}) or a path."""
    import io

    if isinstance(im, Image.Image):
        out = im
    elif isinstance(im, dict) and im.get("bytes"):
        out = Image.open(io.BytesIO(im["bytes"]))
    elif isinstance(im, dict) and im.get("path"):
        out = Image.open(im["path"])
    elif isinstance(im, str):
        out = Image.open(im)
    else:
        raise TypeError(f"cannot turn a {type(im).__name__} into an image")
    return out.convert("RGB") if out.mode != "RGB" else out


def user_content(text: str, images: list) -> list[dict]:
    """Split `text` at `<image>` markers into text and image parts (images w/o markers go first)."""
    images = [to_pil(im) for im in images]
    pieces = text.split(IMAGE_MARKER)
    n_markers = len(pieces) - 1
    if n_markers not in (0, len(images)):
        raise ValueError(f"{n_markers} {IMAGE_MARKER} markers for {len(images)} images")
    parts: list[dict] = []
    if n_markers == 0:
        parts += [{"type": "image", "image": im} for im in images]
        if text:
            parts.append({"type": "text", "text": text})
        return parts
    for i, piece in enumerate(pieces):
        if piece:
            parts.append({"type": "text", "text": piece})
        if i < n_markers:
            parts.append({"type": "image", "image": images[i]})
    return parts


def record_to_chat(record: dict, system: str | None = None, template: str = "{problem}") -> Chat:
    """Chat for one record. `template` wraps the problem, e.g. "{problem}\\nPut the answer in \\\\boxed{{}}."."""
    chat: Chat = []
    if system:
        chat.append({"role": "system", "content": system})
    text = template.format(problem=record["problem"])
    chat.append({"role": "user", "content": user_content(text, list(record.get("images") or []))})
    return chat


def chat_images(chat: Chat) -> list[Image.Image]:
    """The images of a chat, in order."""
    out = []
    for msg in chat:
        if isinstance(msg["content"], list):
            out += [p["image"] for p in msg["content"] if p.get("type") == "image"]
    return out


def chat_text(chat: Chat) -> str:
    """The text of a chat, for cache keys and logs (images as `<image>`)."""
    lines = []
    for msg in chat:
        c = msg["content"]
        if isinstance(c, str):
            body = c
        else:
            body = "".join(p["text"] if p.get("type") == "text" else IMAGE_MARKER for p in c)
        lines.append(f"{msg['role']}: {body}")
    return "\n".join(lines)
