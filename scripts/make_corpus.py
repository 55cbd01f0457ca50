"""Generate the labelled review corpus used to train attribkit's demo sentiment model.

The corpus is synthetic, deterministic (seeded) and written as JSON Lines, one
``{"text": ..., "label": 0|1}`` object per line (0 = negative, 1 = positive):

* ``train.jsonl``: the training split.
* ``heldout.jsonl``: sentences built from templates, nouns, names and neutral
  filler words that the training split never uses; the sentiment lexicon
  (adjectives, verbs, adverbs, negators, intensifiers) is shared with training.
* ``heldout_unseen_sentiment.jsonl``: held-out templates and fillers whose
  sentiment word is one of a few adjectives kept out of training entirely.

Sentences cover plain statements, intensifiers ("very", "a bit"), negation
("not good" is negative, "not bad" and "never boring" are positive) and mixed
sentiment ("the plot is weak but the acting is superb": the label follows the
clause after "but"; with "although" it follows the main clause).

Only the training split also gets made-up brand and person names, neutral
sentences or phrases around the review and varied final punctuation, so that a
word's position, the sentence length or the final mark never reveals the label.

Usage::

    python scripts/make_corpus.py [--out data/corpus] [--seed 13]
"""

import argparse
import json
import random
import re
from pathlib import Path

NEGATIVE, POSITIVE = 0, 1

# ---------------------------------------------------------------------------
# Sentiment lexicon (shared by all splits, except UNSEEN_ADJECTIVES).
# ---------------------------------------------------------------------------
ADJECTIVES = {
    POSITIVE: [
        "good", "great", "excellent", "wonderful", "superb", "brilliant",
        "fantastic", "amazing", "delightful", "enjoyable", "charming", "lovely",
        "impressive", "outstanding", "pleasant", "beautiful", "perfect",
        "terrific", "fun", "gripping", "solid", "marvelous",
    ],
    NEGATIVE: [
        "bad", "terrible", "awful", "poor", "weak", "boring", "dull",
        "horrible", "disappointing", "mediocre", "bland", "tedious", "clumsy",
        "annoying", "dreadful", "lousy", "messy", "pathetic", "forgettable",
        "unpleasant", "painful", "sloppy",
    ],
}
# Adjectives whose negation reads naturally ("not good", "never boring").
NEGATABLE = {
    POSITIVE: ["good", "great", "enjoyable", "impressive", "fun", "pleasant", "solid"],
    NEGATIVE: ["bad", "boring", "dull", "disappointing", "terrible", "awful", "tedious"],
}
# Kept out of training; only used by heldout_unseen_sentiment.jsonl.
UNSEEN_ADJECTIVES = {
    POSITIVE: ["splendid", "stellar", "exquisite", "sublime"],
    NEGATIVE: ["atrocious", "abysmal", "insipid", "dismal"],
}
VERBS = {
    POSITIVE: ["loved", "enjoyed", "adored", "liked", "admired", "recommend"],
    NEGATIVE: ["hated", "disliked", "despised", "loathed", "regretted", "resented"],
}
# Positive verbs that read naturally after "did not" (always negative).
NEGATABLE_VERBS = ["love", "enjoy", "like", "recommend"]
MANNER_ADVERBS = {
    POSITIVE: ["beautifully", "wonderfully", "brilliantly", "perfectly", "skillfully"],
    NEGATIVE: ["poorly", "badly", "terribly", "awkwardly", "carelessly"],
}
PARTICIPLES = ["made", "done", "written", "designed", "put together", "executed"]
# Intensifiers are shared by both polarities ("rather good", "rather dull"), so that they
# carry no sentiment themselves; only "a bit" leans negative, as in everyday English.
SHARED_INTENSIFIERS = ["very", "extremely", "absolutely", "truly", "really", "incredibly",
                       "quite", "pretty", "rather", "somewhat"]
INTENSIFIERS = {
    POSITIVE: SHARED_INTENSIFIERS,
    NEGATIVE: SHARED_INTENSIFIERS + ["a bit"],
}
NEGATORS = ["not", "never", "hardly", "not at all"]

# ---------------------------------------------------------------------------
# Filler words: disjoint between training and held-out splits.
# ---------------------------------------------------------------------------
TRAIN_NOUNS = {
    "film": ["movie", "film", "plot", "acting", "soundtrack", "script", "ending", "cast",
             "story", "director", "pacing", "sequel", "costumes", "hero", "scene", "finale",
             "comedy", "thriller", "musical", "animation"],
    "food": ["restaurant", "food", "service", "menu", "dessert", "pasta", "waiter", "soup",
             "pizza", "cafe", "steak", "coffee", "curry", "noodles", "chef", "kitchen",
             "breakfast", "sandwich", "wine", "cake"],
    "tech": ["phone", "battery", "screen", "camera", "charger", "keyboard", "laptop",
             "speaker", "app", "mouse", "monitor", "software", "update", "console", "cable",
             "television"],
    "book": ["book", "novel", "chapter", "author", "prose", "poem", "biography", "memoir",
             "translation", "narrator", "cover", "anthology"],
    "game": ["game", "controller", "artwork", "level", "puzzle", "boss", "multiplayer",
             "campaign", "map", "quest"],
    "home": ["sofa", "lamp", "blender", "kettle", "mattress", "vacuum", "desk", "chair",
             "oven", "fridge"],
}
HELDOUT_NOUNS = {
    "film": ["documentary", "cinematography", "dialogue", "villain", "trailer", "episode",
             "screenplay", "miniseries"],
    "food": ["bakery", "sushi", "burger", "salad", "bartender", "brunch", "lasagna", "bistro"],
    "tech": ["tablet", "headset", "printer", "router", "smartwatch", "projector", "drone"],
    "music": ["album", "concert", "chorus", "singer", "guitarist", "orchestra", "playlist"],
    "travel": ["hotel", "museum", "tour", "ferry", "campsite", "airline", "cruise"],
}
TRAIN_NAMES = ["anna", "tom", "maria", "james", "lucy", "peter", "sara", "david", "emma",
               "mark", "chloe", "daniel", "rosa", "oliver", "nina", "george", "helen", "sam",
               "julia", "victor", "alice", "ben", "clara", "felix", "grace", "hugo", "irene",
               "jack", "laura", "max"]
HELDOUT_NAMES = ["priya", "kenji", "olga", "mateo", "fatima", "lars", "ingrid", "tariq",
                 "zanele", "bjorn", "yuki", "amara"]
TRAIN_PEOPLE = ["my sister", "my dad", "my boss", "our neighbour", "my friend", "my wife",
                "my brother", "my mum", "my husband", "my son", "my daughter", "my colleague",
                "our guide", "my partner", "the kids"]
HELDOUT_PEOPLE = ["my cousin", "my grandmother", "our teacher", "my roommate", "my uncle",
                  "my aunt", "our landlord"]
TRAIN_WHEN = ["last night", "yesterday", "on friday", "at the weekend", "this year",
              "after work", "on holiday", "on monday", "last week", "on saturday",
              "in the summer", "on sunday", "last month", "in april", "after dinner"]
HELDOUT_WHEN = ["this morning", "on tuesday", "during lunch", "in december", "before midnight",
                "on the train", "on wednesday", "in october"]
TRAIN_OPENERS = ["overall", "to be honest", "in my opinion", "well", "so", "anyway",
                 "in short", "to sum up", "personally", "in general"]
HELDOUT_OPENERS = ["frankly", "all things considered", "for what it is worth", "basically",
                   "truth be told"]
# Neutral actions per training domain, used to add context without sentiment.
TRAIN_ACTIONS = {
    "film": ["watched", "saw", "streamed"],
    "food": ["ordered", "ate", "shared"],
    "tech": ["bought", "used", "returned"],
    "book": ["read", "borrowed", "finished"],
    "game": ["played", "bought", "finished"],
    "home": ["bought", "used", "returned"],
}

# Syllables for made-up brand and person names in training ("the kavoru phone"):
# they teach the model that unfamiliar words carry no sentiment.
ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
          "z", "bl", "br", "ch", "cl", "cr", "dr", "fl", "gr", "pl", "pr", "sh", "sk", "sl", "sp",
          "st", "th", "tr", "wh"]
VOWELS = ["a", "e", "i", "o", "u", "y", "ai", "ea", "ee", "ie", "oa", "oo", "ou", "au"]
CODAS = ["", "", "", "b", "ck", "d", "ft", "g", "ght", "k", "l", "ll", "m", "n", "nd", "ng", "nt",
         "p", "r", "rd", "rt", "s", "sh", "ss", "st", "t", "th", "x", "ne", "le", "se", "te"]

SPLIT_FILLERS = {
    "train": {"nouns": TRAIN_NOUNS, "names": TRAIN_NAMES, "people": TRAIN_PEOPLE,
              "when": TRAIN_WHEN, "openers": TRAIN_OPENERS},
    "heldout": {"nouns": HELDOUT_NOUNS, "names": HELDOUT_NAMES, "people": HELDOUT_PEOPLE,
                "when": HELDOUT_WHEN, "openers": HELDOUT_OPENERS},
}


def reserved_words():
    """Return every word of the lexicon and the fillers, which made-up words must avoid."""
    texts = [NEGATORS, PARTICIPLES, NEGATABLE_VERBS, HELDOUT_FRAME_WORDS]
    for table in (ADJECTIVES, UNSEEN_ADJECTIVES, VERBS, MANNER_ADVERBS, INTENSIFIERS,
                  TRAIN_NOUNS, HELDOUT_NOUNS, TRAIN_ACTIONS):
        texts.extend(table.values())
    for fillers in SPLIT_FILLERS.values():
        texts.extend(value for key, value in fillers.items() if key != "nouns")
    return {word for group in texts for phrase in group for word in phrase.split()}


def with_article(phrase):
    """Prefix ``phrase`` with "a" or "an"."""
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


class Generator:
    """Builds sentences of a requested polarity from one split's fillers and a lexicon."""

    def __init__(self, rng, split, adjectives=ADJECTIVES):
        self.rng = rng
        self.fillers = SPLIT_FILLERS[split]
        self.adjectives = adjectives
        self.use_nonce = split == "train"
        self.reserved = reserved_words()

    def pick(self, options):
        """Return one element of ``options``."""
        return self.rng.choice(options)

    def domain(self):
        """Return the name of a random domain of this split."""
        return self.pick(sorted(self.fillers["nouns"]))

    def nonce_word(self):
        """Return a made-up word of one to three syllables that is not a real corpus word."""
        while True:
            syllables = [self.pick(ONSETS) + self.pick(VOWELS) for _ in range(self.rng.randint(1, 3))]
            word = "".join(syllables) + self.pick(CODAS)
            if word not in self.reserved:
                return word

    def noun(self, domain):
        """Return a noun of ``domain``, in training sometimes with a made-up brand name."""
        noun = self.pick(self.fillers["nouns"][domain])
        if self.use_nonce and self.rng.random() < 0.25:
            return f"{self.nonce_word()} {noun}"
        return noun

    def filler(self, kind):
        """Return a neutral filler of ``kind`` (names, people, when, openers).

        In training, half of the names are made up.
        """
        if kind == "names" and self.use_nonce and self.rng.random() < 0.5:
            return self.nonce_word()
        return self.pick(self.fillers[kind])

    def adjective_phrase(self, label):
        """Return an adjective phrase of polarity ``label``, possibly negated or intensified."""
        roll = self.rng.random()
        if roll < 0.2 and self.adjectives is ADJECTIVES:
            return f"{self.pick(NEGATORS)} {self.pick(NEGATABLE[1 - label])}"
        adjective = self.pick(self.adjectives[label])
        if roll < 0.55:
            return f"{self.pick(INTENSIFIERS[label])} {adjective}"
        return adjective

    def attributive(self, label):
        """Return an (optionally intensified) adjective usable before a noun."""
        adjective = self.pick(self.adjectives[label])
        if self.rng.random() < 0.4:
            return f"{self.pick(INTENSIFIERS[label])} {adjective}"
        return adjective


def copula(gen, label, domain, tense=None):
    """'the plot was very good'."""
    verb = tense or gen.pick(["is", "was"])
    return f"the {gen.noun(domain)} {verb} {gen.adjective_phrase(label)}"


def verb_clause(gen, label, domain):
    """'i loved the soundtrack' / 'i did not enjoy the pasta'."""
    subject = gen.pick(["i", "we", gen.filler("names")])
    if label == NEGATIVE and gen.rng.random() < 0.3:
        return f"{subject} did not {gen.pick(NEGATABLE_VERBS)} the {gen.noun(domain)}"
    verb = gen.pick(VERBS[label])
    if verb == "recommend":
        return f"{subject} would recommend the {gen.noun(domain)}"
    return f"{subject} {verb} the {gen.noun(domain)}"


def manner_clause(gen, label, domain):
    """'the script was poorly written'."""
    adverb = gen.pick(MANNER_ADVERBS[label])
    return f"the {gen.noun(domain)} was {adverb} {gen.pick(PARTICIPLES)}"


def clause(gen, label, domain, tense=None):
    """Return one sentiment clause of polarity ``label``, sometimes with a neutral tail."""
    kind = gen.rng.random()
    if kind < 0.6:
        text = copula(gen, label, domain, tense)
    elif kind < 0.85:
        text = verb_clause(gen, label, domain)
    else:
        text = manner_clause(gen, label, domain)
    if gen.rng.random() < 0.2:
        text += neutral_tail(gen, domain)
    return text


# ---------------------------------------------------------------------------
# Neutral context (training only). Sentiment words appear anywhere in a sentence,
# so the model cannot use a word's position to guess which clause decides.
# ---------------------------------------------------------------------------
def neutral_tail(gen, domain):
    """Return a neutral phrase that can end a clause: ' on friday with my sister'."""
    kind = gen.rng.random()
    if kind < 0.3:
        return f" {gen.filler('when')} with {gen.filler('people')}"
    if kind < 0.6:
        return f" when {gen.filler('people')} and i {gen.pick(TRAIN_ACTIONS[domain])} it"
    if kind < 0.8:
        return f" according to {gen.filler('names')}"
    return f" {gen.filler('when')}"


def neutral_sentence(gen, domain):
    """Return a sentence without sentiment: 'my dad came with me on friday.'"""
    kind = gen.rng.random()
    if kind < 0.4:
        return f"{gen.filler('people')} came with me {gen.filler('when')}."
    if kind < 0.8:
        action = gen.pick(TRAIN_ACTIONS[domain])
        return f"{gen.filler('names')} {action} the {gen.noun(domain)} {gen.filler('when')}."
    return f"we went back {gen.filler('when')} with {gen.filler('people')}."


def vary(gen, text, domain):
    """Return ``text`` with, sometimes, neutral sentences around it and another final mark.

    Varying the final punctuation keeps the model from routing its decision through it.
    """
    if gen.rng.random() < 0.2:
        text = f"{neutral_sentence(gen, domain)} {text}"
    if gen.rng.random() < 0.2:
        text = f"{text} {neutral_sentence(gen, domain)}"
    ending = gen.rng.random()
    if ending < 0.15:
        text = text[:-1]
    elif ending < 0.25:
        text = text[:-1] + "!"
    return text


# ---------------------------------------------------------------------------
# Training templates. Each takes (gen, label, domain) and returns a sentence of that label.
# ---------------------------------------------------------------------------
def t_plain(gen, label, domain):
    """'the plot was very good.'"""
    return f"{clause(gen, label, domain)}."


def t_opener(gen, label, domain):
    """'to be honest, i hated the soup.'"""
    return f"{gen.filler('openers')}, {clause(gen, label, domain)}."


def t_reported(gen, label, domain):
    """'anna said the screen was awful.'"""
    return f"{gen.filler('names')} said {copula(gen, label, domain, 'was')}."


def t_but(gen, label, domain):
    """'the plot is weak, but the acting is superb.' (label of the second clause)"""
    comma = gen.pick(["", ","])
    return f"{clause(gen, 1 - label, domain)}{comma} but {clause(gen, label, domain)}."


def t_although_first(gen, label, domain):
    """'although the plot is weak, the acting is superb.' (label of the main clause)"""
    return f"although {clause(gen, 1 - label, domain)}, {clause(gen, label, domain)}."


def t_although_last(gen, label, domain):
    """'the acting is superb, although the plot is weak.' (label of the main clause)"""
    return f"{clause(gen, label, domain)}, although {clause(gen, 1 - label, domain)}."


def t_exclaim(gen, label, domain):
    """'what an absolutely lovely cafe!'"""
    return f"what {with_article(gen.attributive(label))} {gen.noun(domain)}!"


def t_when(gen, label, domain):
    """'the battery was dreadful last week.'"""
    return f"{clause(gen, label, domain, 'was')} {gen.filler('when')}."


def t_pair(gen, label, domain):
    """'bland pasta and lousy coffee.'"""
    first, second = gen.pick(gen.adjectives[label]), gen.pick(gen.adjectives[label])
    return f"{first} {gen.noun(domain)} and {second} {gen.noun(domain)}."


def t_and(gen, label, domain):
    """'the cast was great and we loved the ending.'"""
    return f"{clause(gen, label, domain)} and {clause(gen, label, domain)}."


def t_action(gen, label, domain):
    """'my dad and i ate the curry on monday and the chef was superb.'"""
    action = gen.pick(TRAIN_ACTIONS[domain])
    return (f"{gen.filler('people')} and i {action} the {gen.noun(domain)} {gen.filler('when')}"
            f" and {clause(gen, label, domain)}.")


def t_short(gen, label, domain):
    """'a dull novel.'"""
    return f"{with_article(gen.attributive(label))} {gen.noun(domain)}."


TRAIN_TEMPLATES = [  # (template, relative weight)
    (t_plain, 3), (t_opener, 2), (t_reported, 1), (t_but, 3), (t_although_first, 2),
    (t_although_last, 2), (t_exclaim, 1), (t_when, 2), (t_pair, 1), (t_and, 1),
    (t_action, 2), (t_short, 1),
]


# ---------------------------------------------------------------------------
# Held-out templates. Their frames ("found", "felt", "thinks this", "seemed", "such",
# "tried", "verdict on") never occur in training; the connectives "but" and "although",
# the negators, the intensifiers and the sentiment words are shared.
# ---------------------------------------------------------------------------
def h_found(gen, label, domain):
    """'priya found the hotel rather charming.'"""
    return f"{gen.filler('names')} found the {gen.noun(domain)} {gen.adjective_phrase(label)}."


def h_felt(gen, label, domain):
    """'the ferry felt tedious on tuesday.'"""
    return f"the {gen.noun(domain)} felt {gen.adjective_phrase(label)} {gen.filler('when')}."


def h_thinks(gen, label, domain):
    """'my cousin thinks this album is superb.'"""
    return f"{gen.filler('people')} thinks this {gen.noun(domain)} is {gen.adjective_phrase(label)}."


def h_although(gen, label, domain):
    """'although the salad seemed bland, olga found the burger great.' (main clause)"""
    return (f"although the {gen.noun(domain)} seemed {gen.adjective_phrase(1 - label)},"
            f" {gen.filler('names')} found the {gen.noun(domain)} {gen.adjective_phrase(label)}.")


def h_thinks_although(gen, label, domain):
    """'my aunt thinks this tour is fun, although the ferry felt dull.' (main clause)"""
    return (f"{gen.filler('people')} thinks this {gen.noun(domain)} is {gen.adjective_phrase(label)},"
            f" although the {gen.noun(domain)} felt {gen.adjective_phrase(1 - label)}.")


def h_but_opener(gen, label, domain):
    """'frankly, the sushi seemed poor, but the bartender was lovely.' (second clause)"""
    return (f"{gen.filler('openers')}, the {gen.noun(domain)} seemed {gen.adjective_phrase(1 - label)}"
            f", but {copula(gen, label, domain)}.")


def h_such(gen, label, domain):
    """'such a gripping documentary in october!'"""
    return f"such {with_article(gen.attributive(label))} {gen.noun(domain)} {gen.filler('when')}!"


def h_visited(gen, label, domain):
    """'my uncle and i tried the bistro; the brunch was awful.'"""
    return f"{gen.filler('people')} and i tried the {gen.noun(domain)}; {copula(gen, label, domain)}."


def h_verdict(gen, label, domain):
    """'verdict on the printer: not at all good.'"""
    return f"verdict on the {gen.noun(domain)}: {gen.adjective_phrase(label)}."


HELDOUT_TEMPLATES = [  # (template, relative weight)
    (h_found, 2), (h_felt, 2), (h_thinks, 2), (h_although, 1), (h_thinks_although, 1),
    (h_but_opener, 2), (h_such, 1), (h_visited, 1), (h_verdict, 1),
]
HELDOUT_FRAME_WORDS = ["found", "felt", "thinks", "seemed", "such", "tried", "verdict"]
# Function words that both splits may use; every other shared word must be in the lexicon.
FUNCTION_WORDS = {"a", "an", "and", "although", "be", "but", "i", "in", "is", "it", "my", "on",
                  "our", "the", "this", "was", "what"}


def build_split(rng, split, templates, count, adjectives=ADJECTIVES, exclude=frozenset()):
    """Return ``count`` unique, label-balanced examples not in ``exclude``."""
    gen = Generator(rng, split, adjectives)
    functions = [fn for fn, _ in templates]
    weights = [weight for _, weight in templates]
    seen, examples = set(exclude), []
    attempts = 0
    while len(examples) < count:
        attempts += 1
        if attempts > 50 * count:
            raise RuntimeError(f"could not generate {count} unique {split} examples")
        label = len(examples) % 2
        template = rng.choices(functions, weights)[0]
        domain = gen.domain()
        text = template(gen, label, domain)
        if split == "train":
            text = vary(gen, text, domain)
        if text not in seen:
            seen.add(text)
            examples.append({"text": text, "label": label})
    rng.shuffle(examples)
    return examples


def words_of(examples):
    """Return the set of words in the texts of ``examples``."""
    return {word for example in examples for word in re.findall(r"[a-z]+", example["text"])}


def lexicon_words():
    """Return every word of the shared lexicon: sentiment words, negators, intensifiers."""
    groups = [NEGATORS, NEGATABLE_VERBS, PARTICIPLES]
    for table in (ADJECTIVES, VERBS, MANNER_ADVERBS, INTENSIFIERS):
        groups.extend(table.values())
    return {word for group in groups for phrase in group for word in phrase.split()}


def check_separation(train, heldout, unseen):
    """Raise ``RuntimeError`` if a held-out split shares more with training than it should.

    Held-out texts may share only the lexicon and a few function words with the training
    split, and the unseen sentiment adjectives must occur in neither train nor heldout.
    """
    shared = (words_of(heldout) | words_of(unseen)) & words_of(train)
    leaked = shared - lexicon_words() - FUNCTION_WORDS
    if leaked:
        raise RuntimeError(f"held-out words also used in training: {sorted(leaked)}")
    unseen_adjectives = {word for words in UNSEEN_ADJECTIVES.values() for word in words}
    if unseen_adjectives & (words_of(train) | words_of(heldout)):
        raise RuntimeError("an unseen sentiment adjective occurs in train or heldout")


def write_jsonl(path, examples):
    """Write ``examples`` to ``path`` as compact JSON Lines."""
    with open(path, "w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example, separators=(",", ":")) + "\n")


def make_corpus(out_dir, seed, n_train, n_heldout, n_unseen):
    """Generate the three splits into ``out_dir`` and return their sizes."""
    rng = random.Random(seed)
    train = build_split(rng, "train", TRAIN_TEMPLATES, n_train)
    train_texts = {example["text"] for example in train}
    heldout = build_split(rng, "heldout", HELDOUT_TEMPLATES, n_heldout, exclude=train_texts)
    unseen = build_split(rng, "heldout", HELDOUT_TEMPLATES, n_unseen,
                         adjectives=UNSEEN_ADJECTIVES, exclude=train_texts)
    check_separation(train, heldout, unseen)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = {"train": train, "heldout": heldout, "heldout_unseen_sentiment": unseen}
    for name, examples in splits.items():
        write_jsonl(out_dir / f"{name}.jsonl", examples)
    return {name: len(examples) for name, examples in splits.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/corpus"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--heldout", type=int, default=1000)
    parser.add_argument("--unseen", type=int, default=300)
    args = parser.parse_args()
    sizes = make_corpus(args.out, args.seed, args.train, args.heldout, args.unseen)
    for name, size in sizes.items():
        print(f"{args.out / (name + '.jsonl')}: {size} examples")


if __name__ == "__main__":
    main()
