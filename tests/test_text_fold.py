"""fold_diacritics: the table lookup gives what the Unicode decomposition gives, for any text."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from content.text import _fold_slowly, fold_diacritics

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxy" + "áàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"


def test_vietnamese_words_fold_to_their_letters():
    assert fold_diacritics("Đăng ký khai sinh ở Hà Tĩnh") == "Dang ky khai sinh o Ha Tinh"
    assert fold_diacritics("thường trú") == "thuong tru"
    assert fold_diacritics("ĐƯỢC") == "DUOC"


def test_marks_typed_apart_and_other_scripts_take_the_long_way_to_the_same_answer():
    decomposed = unicodedata.normalize("NFD", "hồ sơ")  # combining marks typed separately
    assert fold_diacritics(decomposed) == "ho so"
    assert fold_diacritics("привет ħ ß") == _fold_slowly("привет ħ ß")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(VIETNAMESE + VIETNAMESE.upper() + " 0123456789.,?")
               | st.characters(max_codepoint=0x2FFF)))
def test_the_table_agrees_with_the_decomposition(text):
    assert fold_diacritics(text) == _fold_slowly(text)
