"""Korean full-text search for Sphinx.

Sphinx has no Korean search language. With the default one, the index holds
words exactly as written, and Korean writes particles (조사) and endings onto the
word: "정규화는", "정규화를", "정규화한다" are three index entries, none of which a
search for the stem "정규화" finds.

This module adds a search language ``ko`` whose stemmer strips one trailing
particle or light-verb ending from a Hangul word (longest match first, keeping
at least one syllable), and stems other words with the English Porter stemmer,
because Korean technical prose is full of English terms. The same suffix list is
compiled into the JavaScript stemmer that runs on the query, so the index and the
query are stemmed alike: "정규화는" and "정규화" both become "정규화".
"""
from __future__ import annotations

import json
import re

from sphinx.search import languages
from sphinx.search.en import SearchEnglish, js_porter_stemmer

# Particles (조사) and endings of 하다/되다 verbs made from nouns, most common first-level forms.
# Longest match wins; one suffix is removed.
KOREAN_SUFFIXES = sorted(
    {
        # particles
        "은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "도", "만", "로", "으로",
        "에서", "에게", "까지", "부터", "보다", "처럼", "마다", "이나", "나", "란", "이란",
        "라는", "이라는", "에는", "에서는", "으로는", "로는", "과는", "와는", "에도", "으로도",
        "로도", "이다", "이며", "이고", "이므로", "입니다", "이라", "라", "만큼", "조차", "뿐",
        # endings of noun + 하다 / 되다 (정규화하다, 정규화된다, ...)
        "하다", "한다", "하는", "하면", "하여", "해서", "하고", "한", "했다", "합니다", "하며",
        "하지", "할", "함", "하기", "하므로", "된다", "되는", "되면", "되어", "돼", "된", "되고",
        "되며", "될", "됨", "되기", "시킨다", "시키는", "시키면", "시켜",
    },
    key=lambda s: (-len(s), s),
)

_HANGUL = re.compile("[\uac00-\ud7a3]")


def stem_korean(word: str) -> str:
    """Strip one particle or light-verb ending from a Hangul word, keeping at least one syllable.

    >>> stem_korean("정규화는"), stem_korean("정규화를"), stem_korean("정규화한다"), stem_korean("정규화")
    ('정규화', '정규화', '정규화', '정규화')
    """
    for suffix in KOREAN_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return word


JS_KOREAN_STEMMER = (
    js_porter_stemmer
    + """
/* Korean: strip one particle or ending from a Hangul word (same list as normbook/korean_search.py). */
var PorterStemmer = Stemmer;
var KOREAN_SUFFIXES = %s;
var HANGUL = /[\\uac00-\\ud7a3]/;
function stemKorean(w) {
  for (var i = 0; i < KOREAN_SUFFIXES.length; i++) {
    var s = KOREAN_SUFFIXES[i];
    if (w.length > s.length && w.slice(-s.length) === s) return w.slice(0, -s.length);
  }
  return w;
}
Stemmer = function() {
  var porter = new PorterStemmer();
  this.stemWord = function(w) { return HANGUL.test(w) ? stemKorean(w) : porter.stemWord(w); };
};
"""
    % json.dumps(KOREAN_SUFFIXES, ensure_ascii=False)
)


class SearchKorean(SearchEnglish):
    """Search language ``ko``: Korean particles stripped, English words Porter-stemmed."""

    lang = "ko"
    language_name = "Korean"
    js_stemmer_code = JS_KOREAN_STEMMER

    def stem(self, word: str) -> str:
        if _HANGUL.search(word):
            return stem_korean(word)
        return super().stem(word)


def setup(app):
    languages["ko"] = SearchKorean
    return {"parallel_read_safe": True, "parallel_write_safe": True}
