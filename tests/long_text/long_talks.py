"""Long generated talks for the article tests: an hour of speech on changing topics, English or Chinese,
with or without chapters and speakers, as manual (punctuated) WebVTT or rolling auto-captions (SRT).

Each talk is built from topics with their own vocabulary, so a topic change is a real change of words,
as in a real talk; sentences are unique, so "every source sentence exactly once" can be checked by text.
``GeneratedTalk.sentences`` is the ground truth: text, start, end, speaker and topic of every sentence.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from kernel.output.exports import format_timestamp
from kernel.transcript import Chapter

_EN_TOPICS: list[tuple[str, list[str]]] = [
    ("Baking sourdough at home", ["starter", "flour", "dough", "oven", "crust", "yeast", "fermentation", "loaf"]),
    ("Brewing better coffee", ["espresso", "grinder", "beans", "roast", "crema", "extraction", "milk", "barista"]),
    ("Looking after a bicycle", ["chain", "brakes", "tires", "gears", "saddle", "derailleur", "pedals", "frame"]),
    ("A vegetable garden", ["tomatoes", "compost", "seedlings", "soil", "mulch", "greenhouse", "pruning", "weeds"]),
    ("Watching the night sky", ["telescope", "planets", "galaxy", "nebula", "eyepiece", "moon", "stars", "orbit"]),
    ("Taking photographs", ["camera", "lens", "aperture", "shutter", "exposure", "tripod", "sensor", "lighting"]),
    ("Training for a marathon", ["marathon", "shoes", "pace", "stretching", "knees", "stamina", "intervals", "race"]),
    ("Writing software", ["compiler", "functions", "debugger", "tests", "variables", "database", "server", "commits"]),
    ("Learning an instrument", ["guitar", "chords", "rhythm", "melody", "piano", "tuning", "scales", "metronome"]),
    ("Planning a journey", ["passport", "luggage", "flights", "hotel", "itinerary", "train", "airport", "currency"]),
    ("Cooking pasta", ["pasta", "sauce", "garlic", "basil", "parmesan", "olives", "noodles", "tomato paste"]),
    ("Household money", ["budget", "savings", "mortgage", "interest", "taxes", "insurance", "pension", "spending"]),
]
_EN_TEMPLATES = [
    "The {a} is what most people get wrong about the {b}.",
    "When you look at the {a} closely, the {b} changes everything.",
    "We checked the {a} {n} times before we trusted the {b}.",
    "So the question is how the {a} relates to the {b}.",
    "In my experience the {a} matters more than the {b}.",
    "You can think of the {a} as a kind of {b}.",
    "That is why the {a} and the {b} have to be planned together.",
    "A good {a} makes the {b} much easier to handle.",
    "Most beginners ignore the {a} until the {b} fails.",
    "I learned about the {a} from a friend who works on the {b}.",
    "Let me explain why the {a} depends on the {b}.",
    "The {a} took us {n} minutes, and the {b} took twice as long.",
]
_ZH_TOPICS: list[tuple[str, list[str]]] = [
    ("比特币入门", ["比特币", "区块链", "矿工", "钱包", "交易所", "私钥", "挖矿", "手续费"]),
    ("怎样煮咖啡", ["咖啡豆", "研磨", "烘焙", "拿铁", "浓缩", "水温", "咖啡师", "奶泡"]),
    ("阳台种菜", ["番茄", "土壤", "肥料", "浇水", "种子", "温室", "修剪", "花盆"]),
    ("看星星", ["望远镜", "行星", "银河", "月亮", "星云", "轨道", "目镜", "彗星"]),
    ("学摄影", ["相机", "镜头", "光圈", "快门", "曝光", "三脚架", "传感器", "构图"]),
    ("跑马拉松", ["马拉松", "跑鞋", "配速", "拉伸", "膝盖", "耐力", "心率", "训练计划"]),
    ("写程序", ["编译器", "函数", "调试", "测试", "变量", "数据库", "服务器", "代码"]),
    ("学乐器", ["吉他", "和弦", "节奏", "旋律", "钢琴", "调音", "音阶", "节拍器"]),
]
_ZH_TEMPLATES = [
    "{a}其实是很多人忽略的地方，尤其是和{b}有关的时候。",
    "我们测了{n}次{a}，才开始相信{b}。",
    "所以问题是{a}和{b}到底是什么关系。",
    "在我看来{a}比{b}更重要。",
    "你可以把{a}想成一种{b}。",
    "这就是为什么{a}和{b}要一起考虑。",
    "好的{a}会让{b}简单很多。",
    "很多新手在{b}出问题之前都不管{a}。",
    "我是从一个做{b}的朋友那里了解{a}的。",
    "我来解释一下为什么{a}取决于{b}。",
    "{a}花了我们{n}分钟，{b}花了两倍的时间。",
    "说到{a}，大家最关心的还是{b}。",
]
_EN_SPEAKERS = ("Ada", "Grace")
_ZH_SPEAKERS = ("小王", "小李")


@dataclass(frozen=True)
class TalkSentence:
    text: str
    start: float
    end: float
    speaker: str | None
    topic: int
    pause_after: float  # silence until the next sentence starts


@dataclass
class GeneratedTalk:
    language: str
    sentences: list[TalkSentence]
    topic_titles: list[str]
    topic_starts: list[float] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.sentences[-1].end

    def chapters(self) -> list[Chapter]:
        return [Chapter(title=title, start=start) for title, start in zip(self.topic_titles, self.topic_starts, strict=True)]


def generate_talk(
    *, language: str = "en", minutes: float = 60.0, speakers: bool = False, seed: int = 1
) -> GeneratedTalk:
    """A talk of about ``minutes`` minutes: topics of 3.5 to 6.5 minutes each, in a seeded order."""
    rng = random.Random(seed)
    chinese = language.startswith("zh")
    topics = list(_ZH_TOPICS if chinese else _EN_TOPICS)
    templates = _ZH_TEMPLATES if chinese else _EN_TEMPLATES
    names = _ZH_SPEAKERS if chinese else _EN_SPEAKERS
    seconds_per_unit = 0.25 if chinese else 0.38  # per character / per word
    rng.shuffle(topics)
    sentences: list[TalkSentence] = []
    titles: list[str] = []
    starts: list[float] = []
    used: set[str] = set()
    clock = 0.5
    speaker_index, turn_left = 0, rng.randint(1, 4)
    topic_number = 0
    while clock < minutes * 60:
        title, terms = topics[topic_number % len(topics)]
        titles.append(title)
        starts.append(round(clock, 3))
        topic_end = clock + rng.uniform(210, 390)
        while clock < topic_end and clock < minutes * 60:
            text = _unique_sentence(rng, templates, terms, used)
            units = len(re.sub(r"\W", "", text)) if chinese else len(text.split())
            duration = round(units * seconds_per_unit * rng.uniform(0.9, 1.1), 3)
            speaker = None
            if speakers:
                if turn_left == 0:
                    speaker_index, turn_left = 1 - speaker_index, rng.randint(1, 4)
                turn_left -= 1
                speaker = names[speaker_index]
            pause = rng.choice([0.0, 0.05, 0.2, 0.3, 0.4, 0.6, 1.5, 2.0])
            sentences.append(TalkSentence(text, round(clock, 3), round(clock + duration, 3), speaker, topic_number, pause))
            clock += duration + pause
        topic_number += 1
    return GeneratedTalk(language, sentences, titles, starts)


def _unique_sentence(rng: random.Random, templates: list[str], terms: list[str], used: set[str]) -> str:
    for _ in range(1000):
        a, b = rng.sample(terms, 2)
        text = rng.choice(templates).format(a=a, b=b, n=rng.randint(2, 40))
        if text not in used:
            used.add(text)
            return text
    raise AssertionError("ran out of unique sentences")


def manual_vtt(talk: GeneratedTalk) -> str:
    """Punctuated WebVTT, one cue per sentence, ``<v Name>`` voice tags when the talk has speakers."""
    lines = ["WEBVTT", ""]
    for sentence in talk.sentences:
        voice = f"<v {sentence.speaker}>" if sentence.speaker else ""
        lines += [f"{format_timestamp(sentence.start)} --> {format_timestamp(sentence.end)}", voice + sentence.text, ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class CaptionWord:
    text: str
    pause_after: float  # silence after this word (0 inside a sentence)


def rolling_captions(talk: GeneratedTalk, *, words_per_line: int = 6) -> tuple[str, list[CaptionWord]]:
    """Unpunctuated, lower-case rolling auto-captions in YouTube's WebVTT style (each cue shows the
    previous line and the new one with inline word times, then a 10 ms transition cue), and the ground
    truth: every caption word with the silence after it. Lines break inside and across sentences, as
    auto-captions do; silences happen only between sentences, where the talk has them."""
    lines: list[list[tuple[str, float]]] = []  # per caption line: (word, start)
    truth: list[CaptionWord] = []
    for sentence in talk.sentences:
        words = [re.sub(r"[^\w']", "", w).lower() for w in sentence.text.split()]
        words = [w for w in words if w]
        step = (sentence.end - sentence.start) / len(words)
        for first in range(0, len(words), words_per_line):
            piece = words[first : first + words_per_line]
            lines.append([(word, round(sentence.start + (first + i) * step, 3)) for i, word in enumerate(piece)])
        truth += [CaptionWord(w, 0.0) for w in words[:-1]] + [CaptionWord(words[-1], sentence.pause_after)]
    cues = ["WEBVTT", "Kind: captions", f"Language: {talk.language}", ""]
    previous = ""
    for index, line in enumerate(lines):
        start = line[0][1]
        end = lines[index + 1][0][1] if index + 1 < len(lines) else talk.duration
        timed = line[0][0] + "".join(f"<{format_timestamp(t)}><c> {w}</c>" for w, t in line[1:])
        plain = " ".join(word for word, _ in line)
        cues += [f"{format_timestamp(start)} --> {format_timestamp(end - 0.01)} align:start position:0%",
                 previous or " ", timed, ""]
        cues += [f"{format_timestamp(end - 0.01)} --> {format_timestamp(end)} align:start position:0%", plain, " ", ""]
        previous = plain
    return "\n".join(cues), truth
