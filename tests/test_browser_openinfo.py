"""On a phone: read the fees and use the calculator, filter the contractors; then the statistics."""

from __future__ import annotations

import pytest

from sunshine.directory.models import AbolishedCharge, Contractor, FeeItem, FeeSchedule
from sunshine.directory.seed import seed_demo_contractors, seed_fee_catalogue

pytestmark = pytest.mark.browser


def ensure_directory() -> None:
    """The migration's catalogue is gone after an earlier transactional test flushed the tables."""
    if not FeeSchedule.objects.exists():
        AbolishedCharge.objects.all().delete()
        seed_fee_catalogue(FeeSchedule, FeeItem, AbolishedCharge)
    seed_demo_contractors(Contractor)


@pytest.mark.django_db(transaction=True)
def test_a_customer_reads_the_fees_and_calculates_the_high_reliability_fee(phone_page):
    ensure_directory()
    page = phone_page.page
    page.goto("/fees/")
    assert page.locator("#fee-items").get_by_text("高可靠性供电费（10 kV）").is_visible()
    assert page.locator("#abolished").get_by_text("移表费").is_visible()
    page.get_by_label("备用电源回路容量（kVA）").fill("1250.5")
    page.get_by_label("供电电压等级").select_option("10kV")
    page.get_by_role("button", name="计算").click()
    page.wait_for_selector("#calc-result")
    assert page.locator("#calc-result").inner_text() == "206332.50"
    phone_page.screenshot("openinfo-fees-phone")


@pytest.mark.django_db(transaction=True)
def test_a_customer_filters_the_contractors_and_never_sees_an_expired_licence(phone_page):
    ensure_directory()
    page = phone_page.page
    page.goto("/contractors/")
    assert page.locator("#no-designation").get_by_role("link", name="举报指定行为").is_visible()
    assert page.locator("#contractors > li").count() == 13
    page.get_by_label("类别").select_option("construction")
    page.locator("#contractor-filter button").click()
    page.wait_for_url("**kind=construction**")
    names = page.locator(".contractor-name").all_inner_texts()
    assert len(names) == 5 and "示例杏花岭机电安装有限公司" not in names
    # the order of this visit is kept: the seed travels in the address
    assert "seed=" in page.url
    page.reload()
    assert page.locator(".contractor-name").all_inner_texts() == names
    page.get_by_label("名称、拼音或服务区域").fill("jinci")
    page.locator("#contractor-filter button").click()
    page.wait_for_url("**q=jinci**")
    assert page.locator(".contractor-name").all_inner_texts() == ["示例晋祠输变电工程有限公司"]
    phone_page.screenshot("openinfo-contractors-phone")


@pytest.mark.django_db(transaction=True)
def test_the_statistics_page_draws_its_charts_and_the_csv_downloads(phone_page, personas):
    from tests.test_metrics import build

    build(personas)
    page = phone_page.page
    page.goto("/statistics/?from_date=2026-09-28&to_date=2026-10-16")
    assert page.locator('[data-stat="on_time_rate"]').inner_text() == "75.00%"
    page.wait_for_selector('[data-chart="stages"] canvas')
    for name in ("stages", "days", "volume"):
        assert page.locator(f'[data-chart="{name}"] canvas').count() >= 1
        box = page.locator(f'[data-chart="{name}"] canvas').first.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200
    phone_page.screenshot("openinfo-statistics-phone")
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    download = info.value
    assert download.suggested_filename == "statistics-20260928-20261016.csv"
    with open(download.path(), encoding="utf-8-sig") as f:
        text = f.read()
    assert "全部类别,整体,6,4,3,75.00,1,1,5.00,5.00,11.50,12.00" in text
