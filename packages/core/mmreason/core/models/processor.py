"""Processor loading without torchvision.

`Qwen2VLProcessor` wants a video processor, and transformers' video processors need torchvision,
which must not be installed here. `ImageOnlyQwen2VLProcessor` tolerates a missing video processor;
the tokenizer and the (PIL) image processor are saved and loaded separately.
"""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer, Qwen2VLImageProcessorPil, Qwen2VLProcessor

QWEN_VL_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' and default_system is defined %}"
    "<|im_start|>system\n{{ default_system }}<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """Qwen2-VL processor for images only: no video processor (so no torchvision)."""

    def __init__(self, image_processor=None, tokenizer=None, video_processor=None, chat_template=None, **kwargs):
        super().__init__(image_processor, tokenizer, video_processor, chat_template=chat_template, **kwargs)

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor" and argument is None:
            return None
        return super().check_argument_for_proper_class(argument_name, argument)


def load_processor(path: str | Path, min_pixels: int | None = None, max_pixels: int | None = None):
    """Tokenizer + PIL image processor from a model directory, joined into one processor."""
    path = Path(path)
    tok = AutoTokenizer.from_pretrained(str(path))
    tok.padding_side = "left"
    improc = Qwen2VLImageProcessorPil.from_pretrained(str(path))
    set_pixel_bounds(improc, min_pixels, max_pixels)
    template = getattr(tok, "chat_template", None) or _read_template(path) or QWEN_VL_CHAT_TEMPLATE
    return ImageOnlyQwen2VLProcessor(image_processor=improc, tokenizer=tok, chat_template=template)


def set_pixel_bounds(image_processor, min_pixels: int | None, max_pixels: int | None) -> None:
    """Images are resized so that min_pixels <= h*w <= max_pixels (transformers 5 reads `size`)."""
    size = dict(shortest_edge=image_processor.size["shortest_edge"], longest_edge=image_processor.size["longest_edge"])
    if min_pixels is not None:
        size["shortest_edge"] = int(min_pixels)
    if max_pixels is not None:
        size["longest_edge"] = int(max_pixels)
    if size["shortest_edge"] > size["longest_edge"]:
        raise ValueError(f"min_pixels {size['shortest_edge']} > max_pixels {size['longest_edge']}")
    image_processor.size = size


def _read_template(path: Path) -> str | None:
    for name in ("chat_template.jinja", "chat_template.json"):
        p = path / name
        if p.exists():
            if name.endswith(".json"):
                import json

                return json.loads(p.read_text())["chat_template"]
            return p.read_text()
    return None


def save_processor(processor, out_dir: str | Path) -> None:
    """Save tokenizer and image processor separately (plus the chat template)."""
    out_dir = Path(out_dir)
    processor.tokenizer.save_pretrained(str(out_dir))
    processor.image_processor.save_pretrained(str(out_dir))
    if processor.chat_template:
        (out_dir / "chat_template.jinja").write_text(processor.chat_template)
