"""``{% translate "…" %}`` of a fixed label, rendered once per language (the page's templates load
this after ``i18n``; ``makemessages`` still finds the labels under the same tag).

A label with ``as``, ``noop``, ``context`` or a variable stays Django's own tag. Each translated
label is what Django's tag renders for that language and escaping, kept on the node: a first view
of the application page has about 70 of them.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Parser, Token
from django.templatetags.i18n import TranslateNode, do_translate
from django.utils.translation import get_language

register = template.Library()


class FixedTranslateNode(template.Node):
    def __init__(self, node: TranslateNode) -> None:
        self.node = node
        self.done: dict[tuple[str | None, bool], str] = {}

    def render(self, context: template.Context) -> Any:
        key = (get_language(), context.autoescape)
        html = self.done.get(key)
        if html is None:
            html = self.done[key] = self.node.render(context)
        return html


@register.tag("translate")
def translate(parser: Parser, token: Token) -> template.Node:
    node = do_translate(parser, token)
    if (
        isinstance(node, TranslateNode)
        and not node.noop
        and node.asvar is None
        and node.message_context is None
        and not node.filter_expression.filters
        and isinstance(getattr(node.filter_expression.var, "literal", None), str)
    ):
        return FixedTranslateNode(node)
    return node
