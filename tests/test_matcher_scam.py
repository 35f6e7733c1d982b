"""The signs of a pasted scam (content/matcher_scam.py) and what the matcher makes of them."""

from __future__ import annotations

import pytest

from content.matcher_scam import scam_signs
from content.matcher_text import question_words


def signs(text: str) -> int:
    return scam_signs(text, question_words(text))


@pytest.mark.parametrize("text", [
    "SMS: \"Cong DVC thong bao hoan phi. Bam vao hoanphi-dvc.xyz de nhan\"",  # a site outside .gov.vn
    "ai đó gửi file DichVuCong_moi.apk bảo cài vào",  # an app file
    "họ bảo cài AnyDesk để sửa lỗi cho",
    "cuộc gọi từ số lạ bảo bấm phím 1",
    "người tự xưng cán bộ xã nhắn xin mã",
    "Chuc mung ban trung thuong tu cong dich vu cong",  # typed without diacritics
    "chuyển 300k vào STK 0987 để xử lý hồ sơ",
])
def test_a_scam_sign_is_seen(text):
    assert signs(text) >= 1
    assert scam_signs(text) == signs(text)  # the words found here or by the caller: the same


@pytest.mark.parametrize("text", [
    "nộp lệ phí 1.250.000đ trên dichvucong.gov.vn thế nào",  # the state's site, and a sum
    "vào https://dichvucong.gov.vn/p/home/dvc-trang-chu.html rồi bấm đâu",
    "ảnh CCCD.jpg tải lên không được, file bao_cao.pdf thì được",  # files people attach
    "em ở TP.HCM, H.Can Lộc có nhà, muốn đăng ký tạm trú online",  # places written short
    "số tài khoản nhận lệ phí là của kho bạc à",
    "tra cứu hồ sơ bằng mã số ở đâu",
])
def test_no_scam_sign_in_ordinary_questions(text):
    assert signs(text) == 0


def test_two_kinds_of_sign_count_twice():
    assert signs("Quy khach da trung thuong, nhan qua tai dvc-quatang.site") == 2


@pytest.mark.parametrize("question", [
    'Zalo người lạ: "Chị ơi em ở bộ phận một cửa, hồ sơ chị thiếu, chị chuyển 150k phí bổ sung vào STK 0123 nhé". Có thật không?',
    'Một trang tên "Hỗ trợ dịch vụ công" đòi tui cài UltraViewer để họ sửa lỗi nộp hồ sơ giúp. Có nên tin không?',
])
def test_a_pasted_scam_about_public_services_is_answered_with_the_warning(built_matcher, question):
    assert built_matcher.match(question).topic == "safety.scam"


@pytest.mark.parametrize("question", [
    "Shop nhắn: đơn hàng của bạn đang giao, theo dõi tại giaohang-nhanh.top, có đúng không?",  # another world
    "hóa đơn tiền điện tháng này gửi link evn-thanhtoan.site, trả ở đó được không",
])
def test_a_scam_sign_in_another_world_is_not_our_warning(built_matcher, question):
    assert built_matcher.match(question).topic != "safety.scam"
