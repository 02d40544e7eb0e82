"""Notice templates are parsed once per process (sunshine/notifications/rendering.py): the same
text renders from the kept parse, an edited text is a new one, a broken text is never kept."""

from __future__ import annotations

from sunshine.notifications import rendering


def test_a_template_is_parsed_once_and_an_edit_is_seen_at_once(settings):
    settings.SUNSHINE_HOTLINE = "0351-12398"
    rendering.compiled.cache_clear()
    source = "您的申请 {{ number }} 已受理，客户经理 {{ manager }}。咨询 {{ hotline }}"
    first = rendering.render(source, {"number": "YK1", "manager": "李爱"})
    second = rendering.render(source, {"number": "YK2", "manager": "包博"})
    assert first == "您的申请 YK1 已受理，客户经理 李爱。咨询 0351-12398"
    assert second == "您的申请 YK2 已受理，客户经理 包博。咨询 0351-12398"
    assert (rendering.compiled.cache_info().misses, rendering.compiled.cache_info().hits) == (1, 1)
    edited = source.replace("已受理", "已办结")
    assert (
        rendering.render(edited, {"number": "YK1", "manager": "李爱"})
        == "您的申请 YK1 已办结，客户经理 李爱。咨询 0351-12398"
    )
    assert rendering.compiled.cache_info().misses == 2


def test_a_broken_template_falls_back_every_time_and_is_not_kept(settings):
    settings.SUNSHINE_HOTLINE = "0351-12398"
    rendering.compiled.cache_clear()
    broken = "申请 {% if number %}{{ number }}"
    for _ in range(2):
        assert rendering.render(broken, {"number": "YK1"}) == broken + " hotline=0351-12398 number=YK1"
    assert rendering.compiled.cache_info().currsize == 0
