"""Wolfram's named characters, ``\\[Name]``: which are letters, which are operators.

A letter (``\\[Alpha]``) may appear in a symbol name and stands for its Unicode
character there (``a\\[Alpha]`` is the symbol ``aα``). A few letters are whole
symbols of their own (``\\[Pi]`` is ``Pi``, ``\\[Infinity]`` is ``Infinity``).
Operator characters (``\\[Rule]``, ``\\[Element]``) are terminals of the grammar.
Inside strings every name here decodes to its character; an unknown name is an
error, as Wolfram's ``Syntax::sntufn``.
"""

from __future__ import annotations

import re

_GREEK = ("Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi "
          "Omicron Pi Rho Sigma Tau Upsilon Phi Chi Psi Omega").split()


def _greek() -> dict[str, str]:
    table: dict[str, str] = {}
    code = 0x3B1
    for name in _GREEK:
        if code == 0x3C2:  # final sigma sits between rho and sigma
            code += 1
        table[name] = chr(code)
        table["Capital" + name] = chr(code - 0x20)
        code += 1
    # Wolfram's \[Epsilon] and \[Phi] are the lunate/straight forms; the others are "Curly"
    table.update(Epsilon="\u03f5", CurlyEpsilon="\u03b5", Phi="\u03d5", CurlyPhi="\u03c6",
                 FinalSigma="\u03c2", CurlyTheta="\u03d1", CurlyKappa="\u03f0",
                 CurlyPi="\u03d6", CurlyRho="\u03f1", Digamma="\u03dd",
                 CapitalDigamma="\u03dc", Koppa="\u03df", Stigma="\u03db", Sampi="\u03e1",
                 CurlyCapitalUpsilon="\u03d2")
    return table


#: named letters: usable inside symbol names
LETTERS: dict[str, str] = {
    **_greek(),
    "HBar": "\u210f", "Ell": "\u2113", "Aleph": "\u2135", "Angstrom": "\u212b",
    "Micro": "\u00b5", "Degree": "\u00b0", "Pi": "\u03c0",
    "ExponentialE": "\uf74d", "ImaginaryI": "\uf74e", "ImaginaryJ": "\uf74f",
    "AGrave": "à", "AAcute": "á", "AHat": "â", "ATilde": "ã", "ADoubleDot": "ä",
    "ARing": "å", "AE": "æ", "CCedilla": "ç", "EGrave": "è", "EAcute": "é", "EHat": "ê",
    "EDoubleDot": "ë", "IGrave": "ì", "IAcute": "í", "IHat": "î", "IDoubleDot": "ï",
    "NTilde": "ñ", "OGrave": "ò", "OAcute": "ó", "OHat": "ô", "OTilde": "õ",
    "ODoubleDot": "ö", "OSlash": "ø", "UGrave": "ù", "UAcute": "ú", "UHat": "û",
    "UDoubleDot": "ü", "SZ": "ß", "CapitalADoubleDot": "Ä", "CapitalODoubleDot": "Ö",
    "CapitalUDoubleDot": "Ü", "CapitalARing": "Å", "CapitalAE": "Æ", "CapitalOSlash": "Ø",
}

#: letters that are a symbol of their own when written alone
WHOLE_SYMBOLS: dict[str, str] = {
    "\u03c0": "Pi", "\u00b0": "Degree", "\uf74d": "E", "\uf74e": "I", "\uf74f": "I",
}

#: operator characters: Unicode text -> the ASCII operator the grammar reads
OPERATORS: dict[str, str] = {
    "Rule": "\uf522", "RuleDelayed": "\uf51f", "TwoWayRule": "\uf120",
    "Element": "\u2208", "Equal": "\uf431", "NotEqual": "\u2260", "LessEqual": "\u2264",
    "GreaterEqual": "\u2265", "And": "\u2227", "Or": "\u2228", "Not": "\u00ac",
    "Times": "\u00d7", "Divide": "\u00f7", "Function": "\uf4a1", "Infinity": "\u221e",
}

#: other characters, meaningful inside strings only
OTHER: dict[str, str] = {
    "RightArrow": "\u2192", "LeftArrow": "\u2190", "LeftRightArrow": "\u2194",
    "UpArrow": "\u2191", "DownArrow": "\u2193", "DoubleRightArrow": "\u21d2",
    "NotElement": "\u2209", "Cross": "\uf4a0", "Transpose": "\uf3c7", "Bullet": "\u2022",
    "Ellipsis": "\u2026", "Dash": "\u2013", "LongDash": "\u2014", "Checkmark": "\u2713",
    "Copyright": "\u00a9", "Registered": "\u00ae", "Trademark": "\u2122", "Euro": "\u20ac",
    "Sterling": "\u00a3", "Yen": "\u00a5", "Cent": "\u00a2", "Section": "\u00a7",
    "Paragraph": "\u00b6", "PlusMinus": "\u00b1", "MinusPlus": "\u2213", "Sum": "\u2211",
    "Product": "\u220f", "Integral": "\u222b", "PartialD": "\u2202", "Del": "\u2207",
    "Sqrt": "\u221a", "Union": "\u22c3", "Intersection": "\u22c2", "Subset": "\u2282",
    "Superset": "\u2283", "EmptySet": "\u2205", "ForAll": "\u2200", "Exists": "\u2203",
    "Implies": "\uf523", "Tilde": "\u223c", "Proportional": "\u221d",
    "Congruent": "\u2261", "LessLess": "\u226a", "GreaterGreater": "\u226b",
    "Star": "\u22c6", "CenterDot": "\u00b7", "SmallCircle": "\u2218",
    "SpaceIndicator": "\u2423", "ReturnIndicator": "\u21b5", "LeftGuillemet": "\u00ab",
    "RightGuillemet": "\u00bb", "OpenCurlyQuote": "\u2018", "CloseCurlyQuote": "\u2019",
    "OpenCurlyDoubleQuote": "\u201c", "CloseCurlyDoubleQuote": "\u201d",
    "NonBreakingSpace": "\u00a0", "ThinSpace": "\u2009", "VeryThinSpace": "\u200a",
    "InvisibleSpace": "\u200b", "Space": " ", "NewLine": "\n", "Tab": "\t",
    "RawTab": "\t", "RawSpace": " ", "RawReturn": "\r", "RawDoubleQuote": '"',
    "RawBackslash": "\\", "RawEscape": "\x1b", "Null": "",
    "FilledSquare": "\u25a0", "EmptySquare": "\u25a1", "FilledCircle": "\u25cf",
    "EmptyCircle": "\u25cb", "Mho": "\u2127", "Wolf": "\uf720",
}

#: every name a string may use
ALL: dict[str, str] = {**OTHER, **OPERATORS, **LETTERS}

# script, gothic, double-struck and formal letters: kept as written in symbol names
LETTER_FAMILIES = r"(?:Script|Gothic|DoubleStruck|Formal)(?:Capital)?[A-Z]"


def letter_names_regex() -> str:
    """The alternation of letter names for the grammar's SYMBOL terminal."""
    names = sorted(LETTERS, key=lambda n: (-len(n), n))
    return "|".join(names) + "|" + LETTER_FAMILIES


_FAMILY = re.compile(LETTER_FAMILIES + r"\Z")


def symbol_text(written: str) -> str:
    """A symbol's name from its written form: ``\\[Alpha]x`` -> ``αx``;
    ``\\[Pi]`` alone -> ``Pi``; family letters stay ``\\[ScriptL]``."""
    if "\\[" in written:
        written = re.sub(r"\\\[([A-Za-z0-9]+)\]",
                         lambda m: LETTERS.get(m.group(1), m.group(0)), written)
    return WHOLE_SYMBOLS.get(written, written)
