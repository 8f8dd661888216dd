"""The question language (`synth.language`): the record's fixed wording in English and Chinese.

Question families phrase their own questions; a family that has no template in the chosen language yields
nothing there (`family(..., languages=...)` lists the languages it writes). MMKG-RDS writes its prompts in
Chinese; the llm rephraser is asked to write in the same language (llm.py).
"""

from __future__ import annotations

LANGUAGES = ("en", "zh")
NAMES = {"en": "English", "zh": "Chinese (简体中文)"}

TEXT = {
    "en": {"head": "Use the evidence below to answer the question.\n\n", "passage": "Passage {n}: ",
           "withheld": "[passage withheld: it states values shown in a figure]", "facts": "Facts:",
           "question": "Question: ", "options": "\nOptions:\n",
           "instruction": {"choice": "Answer with the option letter in \\boxed{}.",
                           "number": "Give the final number in \\boxed{}.",
                           "text": "Give the final answer in \\boxed{}.",
                           "expression": "Give the final expression in \\boxed{}.",
                           "boolean": "Answer yes or no in \\boxed{}."},
           "claim": "{question} Someone answers: {claim}. Is that answer correct?",
           "yes": "yes", "no": "no"},
    "zh": {"head": "请根据下面的材料回答问题。\n\n", "passage": "段落 {n}：",
           "withheld": "[段落已隐去：其中给出了图中的数值]", "facts": "事实：",
           "question": "问题：", "options": "\n选项：\n",
           "instruction": {"choice": "请把选项字母写在 \\boxed{} 中。",
                           "number": "请把最终数值写在 \\boxed{} 中。",
                           "text": "请把最终答案写在 \\boxed{} 中。",
                           "expression": "请把最终表达式写在 \\boxed{} 中。",
                           "boolean": "请在 \\boxed{} 中回答“是”或“否”。"},
           "claim": "{question} 有人回答：{claim}。这个回答正确吗？",
           "yes": "是", "no": "否"},
}


def text(lang: str, key: str):
    if lang not in TEXT:
        raise ValueError(f"synth.language={lang!r}; expected one of {LANGUAGES}")
    return TEXT[lang][key]
