"""``{% load pii %}``: ``{{ phone|mask_phone }}`` → 138****8000, ``{{ id|mask_id }}`` → 1101**********0021."""

from django import template

from sunshine.pii import masking

register = template.Library()
register.filter("mask_phone", masking.mask_phone)
register.filter("mask_id", masking.mask_id)
