"""Write the training corpus of everyday reviews for the bundled model (``data/reviews/train.jsonl``).

Templated short reviews across domains (food, products, hotels, films and series, services, travel,
books, games, apps), with negation ("not bad", "not worth it", "would never buy again"), contrast
("X but Y": the second clause decides) and complaint or praise events. The held-out set,
``data/reviews/heldout.tsv``, is written by hand; it is read here only to leave
its exact sentences out.

    python scripts/make_reviews.py            # seed 17, about 6,000 reviews
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NOUNS = {
    "food": ["food", "meal", "pasta", "pizza", "soup", "steak", "burger", "salad", "curry", "noodles", "sushi",
             "dessert", "cake", "coffee", "tea", "bread", "chicken", "fries", "sandwich", "breakfast", "lunch",
             "dinner", "menu", "portion", "waiter", "waitress", "staff", "service", "restaurant", "cafe", "chef",
             "wine", "cocktail", "pancake", "omelette", "ramen", "taco", "bakery", "takeaway"],
    "products": ["blender", "kettle", "toaster", "vacuum cleaner", "phone", "laptop", "charger", "headset",
                 "speaker", "keyboard", "mouse", "jacket", "dress", "shoes", "boots", "backpack", "mattress",
                 "pillow", "sofa", "lamp", "drill", "printer", "camera", "watch", "tablet", "monitor", "fridge",
                 "washing machine", "umbrella", "suitcase", "pan", "knife", "toy", "bike", "tent", "product",
                 "item", "purchase", "case", "cable"],
    "hotels": ["hotel", "room", "bed", "bathroom", "shower", "pool", "spa", "breakfast buffet", "reception",
               "receptionist", "lobby", "view", "balcony", "apartment", "hostel", "resort", "stay", "location",
               "housekeeping", "concierge", "suite", "towels", "check-in", "guesthouse"],
    "films": ["film", "movie", "series", "show", "episode", "plot", "script", "cast", "acting", "actor",
              "actress", "ending", "soundtrack", "director", "documentary", "comedy", "thriller", "sequel",
              "season", "dialogue", "story", "cinematography", "musical", "cartoon"],
    "services": ["plumber", "electrician", "mechanic", "dentist", "doctor", "hairdresser", "barber", "bank",
                 "insurer", "courier", "delivery", "customer service", "support team", "call centre",
                 "landlord", "cleaner", "gym", "trainer", "internet provider", "repair", "installation",
                 "vet", "pharmacy", "salon", "agent", "estate agent", "tailor"],
    "travel": ["flight", "airline", "airport", "train", "bus", "ferry", "cruise", "taxi", "driver", "pilot",
               "crew", "journey", "trip", "holiday", "tour", "tour guide", "rental car", "seat", "luggage",
               "station", "boarding", "excursion", "guide"],
    "books": ["book", "novel", "biography", "chapter", "author", "memoir", "cookbook", "poem", "comic",
              "textbook", "audiobook", "narrator", "translation"],
    "games": ["game", "app", "puzzle", "level", "graphics", "controls", "update", "board game", "console",
              "multiplayer", "website", "software", "interface"],
}

POSITIVE = ["good", "great", "excellent", "amazing", "wonderful", "fantastic", "superb", "brilliant", "lovely",
            "perfect", "delicious", "tasty", "fresh", "friendly", "helpful", "polite", "comfortable", "clean",
            "spotless", "reliable", "sturdy", "beautiful", "stunning", "charming", "delightful", "enjoyable",
            "fun", "funny", "hilarious", "gripping", "moving", "fascinating", "professional", "efficient",
            "quick", "fast", "smooth", "pleasant", "relaxing", "cosy", "quiet", "generous", "affordable",
            "outstanding", "impressive", "awesome", "nice", "solid", "flawless", "terrific", "marvellous",
            "exceptional", "welcoming", "attentive", "thoughtful", "handy", "well made", "easy to use",
            "gorgeous", "heavenly", "spacious", "punctual", "knowledgeable", "addictive", "satisfying", "cheerful",
            "elegant", "fabulous", "glorious", "splendid", "top notch", "first class", "faultless", "tender",
            "crispy", "juicy", "warm", "courteous", "patient", "honest", "fair", "useful", "durable"]
NEGATIVE = ["bad", "terrible", "awful", "horrible", "dreadful", "poor", "disappointing", "disgusting", "bland",
            "tasteless", "stale", "soggy", "greasy", "cold", "burnt", "rude", "unhelpful", "slow", "late",
            "dirty", "filthy", "noisy", "uncomfortable", "cramped", "broken", "faulty", "flimsy",
            "useless", "unreliable", "boring", "dull", "tedious", "predictable", "pointless", "confusing",
            "annoying", "frustrating", "overpriced", "smelly", "mouldy", "crowded", "chaotic",
            "unprofessional", "careless", "lazy", "incompetent", "wooden", "forgettable", "mediocre",
            "shoddy", "pathetic", "appalling", "atrocious", "awkward", "clumsy", "buggy", "laggy", "grim",
            "shabby", "dismal", "miserable", "rubbish", "worthless", "unbearable", "sloppy", "dodgy",
            "inedible", "overcooked", "undercooked", "rotten", "leaky", "freezing", "stuffy", "arrogant",
            "dishonest", "unfriendly", "sluggish", "defective", "fragile", "scratched", "ugly", "weak"]
INTENSIFIERS = ["", "", "", "very ", "really ", "so ", "truly ", "incredibly ", "absolutely ", "quite ",
                "extremely ", "genuinely ", "pretty ", "rather "]
SUBJECTS = ["The {n}", "Our {n}", "My {n}", "This {n}", "Their {n}", "The {n} here"]
VERBS = ["was", "is", "were", "seemed", "felt", "looked", "turned out"]

POSITIVE_EVENTS = [
    "I would definitely {again}.", "We will {again} for sure.", "I highly recommend this {n}.",
    "I would recommend this {n} to anyone.", "Worth every penny.", "Worth every minute.", "Five stars.",
    "Ten out of ten.", "I love this {n}.", "We loved the {n}.", "I adore this {n}.", "Exceeded my expectations.",
    "Better than I expected.", "Could not be happier.", "Could not ask for more.", "A real gem.",
    "Money well spent.", "I am very happy with the {n}.", "Thank you for a great experience.",
    "Everything went smoothly.", "They fixed the problem straight away.", "It arrived early and works well.",
    "The {n} made our day.", "Highly recommended.", "I keep coming back to this {n}.", "A pleasure from start to finish.",
    "No complaints at all.", "Nothing to complain about.", "I was impressed by the {n}.", "Just what I needed.",
    "We had a great time.", "I enjoyed every minute.", "Would buy again.", "Ordered a second one.",
]
NEGATIVE_EVENTS = [
    "I would never {again}.", "We will not {again}.", "I will never {again}.", "Never again.",
    "I would not recommend this {n}.", "Do not waste your money.", "A complete waste of money.",
    "Waste of time.", "Not worth the money.", "Not worth it.", "One star.", "Zero stars if I could.",
    "Avoid this {n}.", "Stay away from this {n}.", "I hate this {n}.", "I regret buying it.", "I want a refund.",
    "It stopped working after a week.", "It broke after two days.", "We waited for hours.",
    "Nobody answered our complaint.", "They never replied to my emails.", "I was charged twice.",
    "They lost my order.", "It fell apart after a month.", "The {n} ruined our evening.",
    "I am very unhappy with the {n}.", "Totally disappointed.", "What a letdown.", "Returned it at once.",
    "Nothing worked as promised.", "It leaks and smells.", "The {n} was a nightmare.", "Sent it back.",
    "The {n} never showed up.", "I asked for help and got ignored.", "Far too expensive for what you get.",
]
AGAIN = {
    "food": ["come back", "eat here again", "order from them again", "go back"],
    "products": ["buy this again", "buy from them again", "order this again", "buy another one"],
    "hotels": ["stay here again", "book this hotel again", "come back", "stay there again"],
    "films": ["watch it again", "watch another episode", "see it again"],
    "services": ["use them again", "book them again", "call them again"],
    "travel": ["fly with them again", "travel with them again", "book this trip again"],
    "books": ["read it again", "buy another book by this author"],
    "games": ["play it again", "download it again", "use this app again"],
}


def pick_noun(rng: random.Random, domain: str) -> str:
    return rng.choice(NOUNS[domain])


def clause(rng: random.Random, domain: str, polarity: str) -> str:
    """One clause of the given polarity, with or without negation."""
    noun = pick_noun(rng, domain)
    subject = rng.choice(SUBJECTS).format(n=noun)
    verb = rng.choice(VERBS)
    negate = rng.random() < 0.25
    words = NEGATIVE if (polarity == "positive") == negate else POSITIVE
    adjective = rng.choice(words)
    if negate:
        negation = rng.choice(["not", "not", "not at all", "never", "hardly", "far from"])
        if negation == "not at all":
            return f"{subject} {verb} not {adjective} at all"
        if negation == "never":
            return f"{subject} {verb} never {adjective}"
        return f"{subject} {verb} {negation} {adjective}"
    return f"{subject} {verb} {rng.choice(INTENSIFIERS)}{adjective}"


def review(rng: random.Random, domain: str, polarity: str) -> str:
    other = "negative" if polarity == "positive" else "positive"
    words = POSITIVE if polarity == "positive" else NEGATIVE
    events = POSITIVE_EVENTS if polarity == "positive" else NEGATIVE_EVENTS
    kind = rng.random()
    noun = pick_noun(rng, domain)
    if kind < 0.30:
        text = clause(rng, domain, polarity) + "."
    elif kind < 0.42:
        text = f"{rng.choice(INTENSIFIERS).capitalize()}{rng.choice(words)} {noun}.".capitalize()
    elif kind < 0.52:
        negated = rng.choice(NEGATIVE if polarity == "positive" else POSITIVE)
        text = rng.choice([f"Not {negated} at all.", f"Not {negated}.", f"The {noun} was not {negated} at all.",
                           f"Not a {negated} {noun}.", f"Honestly, not {negated}."])
    elif kind < 0.66:
        text = rng.choice(events).format(n=noun, again=rng.choice(AGAIN[domain]))
    elif kind < 0.80:
        first, second = clause(rng, domain, other), clause(rng, domain, polarity)
        join = rng.choice([" but ", ", but ", " although ", "; however, "])
        if join == " although ":
            text = f"{second[0].upper()}{second[1:]} although {first[0].lower()}{first[1:]}."
        else:
            text = f"{first}{join}{second[0].lower()}{second[1:]}."
    elif kind < 0.92:
        text = f"{clause(rng, domain, polarity)} and {clause(rng, domain, polarity).lower()}."
    else:
        text = f"{clause(rng, domain, polarity)}. {rng.choice(events).format(n=noun, again=rng.choice(AGAIN[domain]))}"
    return text[0].upper() + text[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--per-domain", type=int, default=760)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "reviews" / "train.jsonl")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    heldout = {line.split("\t")[-1].strip().lower()
               for line in (ROOT / "data" / "reviews" / "heldout.tsv").read_text().splitlines()[1:]}
    seen, rows = set(), []
    for domain in NOUNS:
        for i in range(args.per_domain):
            polarity = "positive" if i % 2 == 0 else "negative"
            text = review(rng, domain, polarity)
            if text.lower() in seen or text.lower() in heldout:
                continue
            seen.add(text.lower())
            rows.append({"text": text, "label": polarity, "domain": domain})
    rng.shuffle(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(f"{len(rows)} reviews -> {args.out}")


if __name__ == "__main__":
    main()
