"""The synthetic interview: who speaks when, and what, with the planted text signal."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from core.data import formats
from core.data.synth.noise import _sigmoid


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.strip().splitlines())


NEGATIVE_WORDS: tuple[str, ...] = tuple(
    "tired exhausted sleep hopeless lonely worthless numb stressed sad drained".split()
)
"""Planted fatigue and low-mood words (none is a scikit-learn English stop word)."""

POSITIVE_WORDS: tuple[str, ...] = tuple(
    "great fun excited love enjoy happy awesome amazing".split()
)
"""Planted positive words, rarer in depressed participants' answers."""

# Each planted word occurs in exactly three fragments, two words per fragment, so every
# word reaches enough documents to survive a vectoriser's min_df.
_NEGATIVE_FRAGMENTS = _lines("""
    i'm tired all the time and i can't sleep
    i feel tired and drained
    i don't sleep much so i'm exhausted
    i wake up exhausted and tired
    honestly it feels hopeless and i'm sad
    i feel hopeless and lonely
    i've been lonely and sad lately
    i feel worthless and numb
    i just feel numb and drained
    i'm stressed out and i can't sleep
    work has me stressed and exhausted
    i feel worthless and hopeless
    i feel lonely and worthless
    i'm sad and numb
    i'm stressed and drained
""")
_POSITIVE_FRAGMENTS = _lines("""
    it was great and we had fun
    things are great i'm happy
    we had a lot of fun it was amazing
    i'm excited about it it's great
    i'm really excited i love it
    i love my job i enjoy it
    i love spending time with my family i'm happy
    i really enjoy it it's awesome
    i enjoy cooking it's fun
    i'm happy and excited
    it was amazing just awesome
    it's awesome and amazing
""")
_NEUTRAL_FRAGMENTS = _lines("""
    i work at a small company downtown
    my family lives pretty close
    i grew up in the city
    we moved here when i was a kid
    i studied business in school
    i like to cook on the weekends
    i go to the gym sometimes
    my job keeps me pretty busy
    i take the bus to work
    my brother lives out of state
    i have a dog
    we watch movies at home
    i like to read
    i visit my parents on sundays
    the traffic here is bad
    i drive for a living
    i went to college for a couple years
    i used to travel for work
    i play basketball with friends
    it depends on the day
    i try to stay busy
    my kids are in school
    i'm thinking about going back to school
    the weather here is nice
    i have a roommate
    my mom calls me every week
    i work nights mostly
    i was in the army for a while
    i listen to music
    i cook dinner most nights
    we go to church
    i'm pretty quiet
    i talk to my sister a lot
    i'm looking for a new job
    i walk around the neighborhood
    the rent is expensive
    i spend time with friends
    i fix cars
    i work in retail
    my city has good food
    i took a trip last summer
""")
_FILLERS = ("um", "uh", "you know", "like", "yeah", "well", "i mean")
_LAUGHS = ("<laughter>", "[laughter]")

# Ellie's lines, written ``code (text)`` as in sessions above 363.
_INTRO = "intro (hi i'm ellie thanks for coming in today)"
_FIRST_QUESTION = "how_doing (how are you doing today)"
_QUESTIONS = _lines("""
    where_originally (where are you from originally)
    like_about_la (what are some things you really like about l_a)
    travel_lot (do you travel a lot)
    study (what did you study at school)
    dream_job (what's your dream job)
    easy_sleep (how easy is it for you to get a good night's sleep)
    feeling_lately (how have you been feeling lately)
    happy_lasttime (when was the last time you felt really happy)
    best_friend (how would your best friend describe you)
    proud (what are you most proud of in your life)
    advice_back (what advice would you give yourself ten or twenty years ago)
    family_relationship (how close are you to your family)
    relax (what do you do to relax)
    shyoutgoing (do you consider yourself more shy or outgoing)
    argued (when was the last time you argued with someone)
    control_temper (how are you at controlling your temper)
""")
_FOLLOW_SYMPATHETIC = _lines("""
    sounds_hard (that sounds really hard)
    sorry (i'm so sorry)
    feel_down (how long have you been feeling that way)
    therapist (have you ever talked to a therapist about that)
""")
_FOLLOW_POSITIVE = _lines("""
    wonderful (that's wonderful)
    good_hear (that's so good to hear)
    nice (nice)
""")
# Asked of everyone early in the interview; a "yes" brings the help-seeking follow-ups.
_SCREENING = "diagnosed_d (have you ever been diagnosed with depression)"
_FOLLOW_HELP = _lines("""
    ago_diagnosed (how long ago were you diagnosed)
    therapy_useful (do you feel like therapy is useful)
    seek_help (what got you to seek help)
    still_therapy (are you still going to therapy now)
""")
# The answers are stop words or a common filler, so that the leak is Ellie's follow-ups and
# not the participant's own words (four of each: either pick draws the same numbers).
_YES = ("i have", "yeah i have", "i have been", "i have yeah")
_NO = ("no", "no i have not", "no never", "no i have never")
P_DIAGNOSED = (0.05, 0.85)
"""Chance of answering "yes" to the diagnosis question: (not depressed, depressed)."""
_FOLLOW_NEUTRAL = _lines("""
    mhm (mhm)
    tell_more (can you tell me more about that)
    example (can you give me an example of that)
    why (why)
""")


@dataclass
class _Dialogue:
    lines: list[tuple[float, float, str, str]]  # start, stop, speaker, value
    scrubbed: list[tuple[float, float]]  # stretches of zeroed audio

    def intervals(self, speaker: str) -> list[tuple[float, float]]:
        return [(a, b) for a, b, who, _ in self.lines if who == speaker]


class _Talk:
    """Writes one interview line by line, keeping the clock ``t`` (seconds)."""

    def __init__(
        self, rng: np.random.Generator, s_audio: float, s_text: float, start: float, end: float
    ):
        self.rng, self.s_audio, self.end = rng, s_audio, end
        # Linear in the latent: a convex link (exp, logistic) would give a few non-depressed
        # participants extreme word rates that swamp the class difference.
        self.p_negative = float(np.clip(0.13 + 0.14 * s_text, 0.01, 0.6))
        self.p_positive = float(np.clip(0.26 - 0.11 * s_text, 0.02, 0.6))
        self.p_sigh = _sigmoid(s_text - 1.0)  # [sigh] rather than laughter
        self.rate = 2.6 * np.exp(-0.08 * s_audio)  # words per second
        self.lines: list[tuple[float, float, str, str]] = []
        self.t = start  # Ellie's first line

    def pick(self, pool: tuple[str, ...]) -> str:
        return pool[int(self.rng.integers(len(pool)))]

    def ellie(self, line: str) -> bool:
        """Say one coded line; False (and nothing said) when the session is over."""
        text = line[line.index("(") :]
        stop = self.t + len(text.split()) / 2.7 + 0.4
        if stop + 1.5 > self.end:
            return False
        self.lines.append((self.t, stop, formats.INTERVIEWER, line))
        self.t = stop
        return True

    def pause(self) -> float:
        """Silence before the participant answers (longer when depressed), at most 5 s."""
        return min(5.0, self.rng.lognormal(np.log(0.7) + 0.35 * self.s_audio, 0.45))

    def reply(self, text: str) -> None:
        """A short reply that carries no planted words."""
        self.t += self.pause()
        if self.t + 0.6 < self.end:
            self.lines.append((self.t, self.t + 0.6, formats.PARTICIPANT, text))
        self.t += 0.6 + self.rng.uniform(0.3, 1.0)

    def answer(self, n_fragments: int) -> tuple[bool, bool]:
        """Answer in lines of 1-3 fragments; return whether low-mood/positive words came."""
        rng, said_neg, said_pos = self.rng, False, False
        self.t += self.pause()
        while n_fragments > 0 and self.t + 1.0 < self.end:
            words = []
            for _ in range(min(n_fragments, int(rng.integers(1, 4)))):
                n_fragments -= 1
                u = rng.random()
                if u < self.p_negative:
                    pool, said_neg = _NEGATIVE_FRAGMENTS, True
                elif u < self.p_negative + self.p_positive:
                    pool, said_pos = _POSITIVE_FRAGMENTS, True
                else:
                    pool = _NEUTRAL_FRAGMENTS
                if rng.random() < 0.3:
                    words.append(self.pick(_FILLERS))
                words.append(self.pick(pool))
            if rng.random() < 0.12:
                if rng.random() < 0.6:
                    marker = "[sigh]" if rng.random() < self.p_sigh else self.pick(_LAUGHS)
                else:
                    marker = self.pick(("xxx", "<sync>"))
                words.insert(int(rng.integers(len(words) + 1)), marker)
            text = " ".join(words)
            stop = min(self.t + len(text.split()) / self.rate + 0.3, self.end)
            self.lines.append((self.t, stop, formats.PARTICIPANT, text))
            self.t = stop + rng.lognormal(np.log(0.45) + 0.3 * self.s_audio, 0.4)
        return said_neg, said_pos


def _screening(talk: _Talk, rng: np.random.Generator, depressed: bool) -> bool:
    """Answer the diagnosis question; after a "yes", Ellie asks two or three follow-ups.

    This is the interviewer leak as the real corpus has it: the help-seeking prompts are
    conditional on the participant's answer, which depends on the label. ``rng`` (the
    prompts' own stream) decides the answer and the prompts. False when time ran out.
    """
    yes = rng.random() < P_DIAGNOSED[int(depressed)]
    talk.reply(talk.pick(_YES if yes else _NO))
    if not yes:
        return True
    order = rng.permutation(len(_FOLLOW_HELP))[: int(rng.integers(2, 4))]
    for prompt in (_FOLLOW_HELP[i] for i in order):
        talk.t += talk.rng.uniform(0.3, 1.0)
        if not talk.ellie(prompt):
            return False
        talk.answer(1)
    return True


def _dialogue(
    rng: np.random.Generator,
    prompt_rng: np.random.Generator,
    depressed: bool,
    s_audio: float,
    s_text: float,
    seconds: float,
    start: float,
) -> _Dialogue:
    """Alternate Ellie and the participant from ``start`` until the session is full.

    The diagnosis question comes right after the first one; ``prompt_rng`` decides the
    answer and what follows it (:func:`_screening`).
    """
    talk = _Talk(rng, s_audio, s_text, start=start, end=seconds - 0.2)
    questions = [_QUESTIONS[i] for i in rng.permutation(len(_QUESTIONS))]
    questions.insert(0, _SCREENING)
    opening = [_INTRO, _FIRST_QUESTION] if seconds - start >= 45 else [_FIRST_QUESTION]
    others = [q for q in questions if q != _SCREENING]
    rest = itertools.chain(questions, itertools.cycle(others))  # the screening once only
    for question in itertools.chain(opening, rest):
        if not talk.ellie(question):
            break
        if question == _INTRO:
            talk.reply(talk.pick(("hi", "okay", "hello", "sure")))
            continue
        if question == _SCREENING:
            if not _screening(talk, prompt_rng, depressed):
                break
            continue
        said_neg, said_pos = talk.answer(1 + int(rng.poisson(3.0 * np.exp(-0.3 * s_audio))))
        talk.t += rng.uniform(0.3, 1.0)
        # Ellie's follow-up reacts to the answer *and* to the label: the interviewer leak.
        p_sym = 0.04 + 0.3 * depressed + 0.15 * said_neg
        p_pos = 0.04 + 0.2 * (not depressed) + 0.2 * said_pos
        u = rng.random()
        if u < p_sym + p_pos + 0.25:
            pool = (
                _FOLLOW_SYMPATHETIC
                if u < p_sym
                else _FOLLOW_POSITIVE
                if u < p_sym + p_pos
                else _FOLLOW_NEUTRAL
            )
            if not talk.ellie(talk.pick(pool)):
                break
            talk.answer(1)
            talk.t += rng.uniform(0.3, 1.0)

    # One to three participant lines get a scrubbed (zeroed) stretch of audio.
    lines = talk.lines
    spoken = [i for i, line in enumerate(lines) if line[2] == formats.PARTICIPANT]
    chosen = rng.choice(spoken, min(len(spoken), int(rng.integers(1, 4))), replace=False)
    scrubbed = []
    for i in sorted(int(c) for c in chosen):
        start, stop, who, text = lines[i]
        words = text.split(" ")
        words.insert(int(rng.integers(len(words) + 1)), "scrubbed_entry")
        lines[i] = (start, stop, who, " ".join(words))
        a = rng.uniform(start, max(start, stop - 0.5))
        scrubbed.append((a, min(stop, a + rng.uniform(0.4, 1.5))))
    return _Dialogue(lines, scrubbed)


def _time(seconds: float) -> str:
    """Seconds to the millisecond without trailing zeros (``36.5``, ``40``), as real files."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _transcript_bytes(dialogue: _Dialogue) -> bytes:
    rows = ["\t".join(formats.TRANSCRIPT_COLUMNS)]
    rows += [f"{_time(a)}\t{_time(b)}\t{who}\t{text}" for a, b, who, text in dialogue.lines]
    return ("\n".join(rows) + "\n").encode()
