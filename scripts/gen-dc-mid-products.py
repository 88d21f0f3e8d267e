#!/usr/bin/env python3
"""Generates config/examples/dc-mid/products.csv: 2,000 plausible products for the mid-size
example site. Run once; the output is checked in. Deterministic (fixed seed), so re-running
reproduces the same file. GTINs are real-format GTIN-13 (and some GTIN-14 case codes) with GS1
check digits under a made-up company prefix; ABC classes are skewed (about 10% A, 25% B, 65% C);
food, frozen, drinks and health products are lot-tracked with expiry dates.

usage: scripts/gen-dc-mid-products.py [OUT]"""
import random
import sys

HEADER = ("sku,name,gtins,unit,weight_g,length_mm,width_mm,height_mm,tracking,expiry,"
          "expiry_margin_days,category,abc,quality_control,package_type")

# category: (share, sku prefix, nouns, expiry, weight range g, margin days)
CATEGORIES = {
    "food": (0.22, "FD", ["Oat flakes", "Rice", "Pasta", "Lentils", "Tomato sauce", "Honey",
                          "Peanut butter", "Coffee beans", "Muesli", "Crackers", "Olive oil",
                          "Canned beans", "Chocolate", "Biscuits", "Flour"], True, (80, 2500), 30),
    "frozen": (0.06, "FZ", ["Frozen peas", "Fish fingers", "Pizza", "Ice cream", "Spinach",
                            "Berries mix"], True, (250, 1500), 60),
    "drinks": (0.12, "DR", ["Mineral water", "Apple juice", "Orange juice", "Green tea",
                            "Cola", "Oat drink", "Iced tea"], True, (300, 9500), 21),
    "household": (0.18, "HH", ["Dish soap", "Sponges", "Paper towels", "Detergent",
                               "Trash bags", "Glass cleaner", "Toilet paper"], False,
                  (90, 4000), 0),
    "electronics": (0.12, "EL", ["USB-C cable", "Batteries AA", "LED bulb", "Power strip",
                                 "Headphones", "Charger", "Mouse", "Keyboard"], False,
                    (30, 1800), 0),
    "apparel": (0.12, "AP", ["T-shirt", "Socks", "Hoodie", "Cap", "Gloves", "Scarf"], False,
                (40, 900), 0),
    "toys": (0.08, "TY", ["Puzzle", "Building blocks", "Plush bear", "Card game", "Ball"],
             False, (60, 2200), 0),
    "health": (0.10, "HE", ["Plasters", "Vitamin C", "Hand cream", "Toothpaste", "Shampoo",
                            "Sunscreen"], True, (30, 600), 90),
}
VARIANTS = ["S", "M", "L", "XL", "250 g", "500 g", "1 kg", "6 pack", "12 pack", "blue", "red",
            "green", "black", "white", "classic", "organic", "family size", "mini"]


def check_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def gtin13(company, item):
    body = "40" + company + "%05d" % item
    return body + check_digit(body)


def gtin14_case(g13, indicator):
    body = str(indicator) + g13[:-1]
    return body + check_digit(body)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "config/examples/dc-mid/products.csv"
    rnd = random.Random(20240611)
    names = list(CATEGORIES)
    weights = [CATEGORIES[c][0] for c in names]
    rows = [HEADER]
    counters = {c: 0 for c in names}
    for n in range(2000):
        cat = rnd.choices(names, weights)[0]
        _, prefix, nouns, expiry, (wmin, wmax), margin = CATEGORIES[cat]
        counters[cat] += 1
        sku = "%s-%05d" % (prefix, counters[cat])
        name = "%s %s" % (rnd.choice(nouns), rnd.choice(VARIANTS))
        g = gtin13("12345", n + 1)
        gtins = [g]
        if rnd.random() < 0.25:
            gtins.append(gtin14_case(g, rnd.choice([1, 2, 3])))
        weight = rnd.randint(wmin, wmax)
        dims = sorted((rnd.randint(20, 400) for _ in range(3)), reverse=True)
        r = rnd.random()
        abc = "A" if r < 0.10 else "B" if r < 0.35 else "C"
        if expiry:
            tracking, exp, mdays = "lot", "true", str(margin + rnd.choice([0, 0, 15, 30]))
        elif cat == "electronics" and rnd.random() < 0.4:
            tracking, exp, mdays = "serial", "false", ""
        else:
            tracking, exp, mdays = "none", "false", ""
        qc = "true" if (cat in ("electronics", "health") and rnd.random() < 0.3) else "false"
        pkg = "bulky" if max(dims) > 350 else ("pallet" if weight > 9000 else "")
        unit = "kg" if (cat == "food" and rnd.random() < 0.05) else "Units"
        rows.append(",".join([sku, '"%s"' % name if "," in name else name, ";".join(gtins), unit,
                              str(weight), str(dims[0]), str(dims[1]), str(dims[2]), tracking,
                              exp, mdays, cat, abc, qc, pkg]))
    with open(out, "w", encoding="ascii") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
