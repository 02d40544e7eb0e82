"""Supervision cases (稽查), follow-up calls (回访), customer visits (走访).

State changes happen only through ``sunshine.feedback.services``; reads through
``sunshine.feedback.selectors``. Investigation notes and call attempts are append-only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sunshine.pii.fields import EncryptedCharField

# --- supervision cases --------------------------------------------------------------------------


class CaseSource(models.TextChoices):
    FOLLOWUP = "followup", _("follow-up call")
    COMPLAINT = "complaint", _("portal complaint")
    PAUSE_CONTEST = "pause_contest", _("pause contested by the customer")
    CONCENTRATION = "concentration", _("contractor concentration monitor")
    CHOICE = "choice", _("customer's contractor choice: suggested by staff")
    STAFF = "staff", _("raised by staff")


class CaseKind(models.TextChoices):
    """What the case is about; the evaluation counts upheld complaint, steering and overcharge."""

    COMPLAINT = "complaint", _("complaint")
    STEERING = "steering", _("steering to a contractor (三不指定)")
    OVERCHARGE = "overcharge", _("extra or off-catalogue charge")
    PAUSE_CONTEST = "pause_contest", _("contested pause")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class Finding(models.TextChoices):
    UPHELD = "upheld", _("upheld")
    NOT_UPHELD = "not_upheld", _("not upheld")


class SupervisionCase(models.Model):
    tracking_number = models.CharField(_("tracking number"), max_length=20, unique=True)
    source = models.CharField(_("source"), max_length=16, choices=CaseSource.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=CaseKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    details = models.TextField(_("details"), blank=True)
    application = models.ForeignKey(
        "applications.Application",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervision_cases",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_about",
    )
    # The pause a customer contests (source pause_contest).
    pause = models.ForeignKey(
        "applications.Pause",
        verbose_name=_("pause"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contests",
    )
    reporter_name = models.CharField(_("reporter name"), max_length=100, blank=True)
    reporter_phone = EncryptedCharField(_("reporter phone"), max_length=20, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    opened_on = models.DateField(_("opened on"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    time_limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    finding = models.CharField(_("finding"), max_length=12, choices=Finding.choices, blank=True)
    action_taken = models.TextField(_("action taken"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Set when the same fact must never open two cases (a monitor run, a follow-up answer).
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, null=True, blank=True, unique=True)
    # Overdue reminders already sent (the schedule reminds once per case).
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["due_on"], name="case_open_due", condition=Q(status="open")),
            models.Index(fields=["manager", "finding", "closed_on"], name="case_manager_finding"),
        ]
        verbose_name = _("supervision case")
        verbose_name_plural = _("supervision cases")

    def __str__(self) -> str:
        return self.tracking_number

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


class CaseNote(models.Model):
    """One investigation note; notes are never edited or deleted."""

    case = models.ForeignKey(
        SupervisionCase, verbose_name=_("supervision case"), on_delete=models.CASCADE, related_name="notes"
    )
    at = models.DateTimeField(_("at"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["case", "id"]
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")

    def __str__(self) -> str:
        return f"{self.case_id}@{self.at:%Y-%m-%d %H:%M}"


# --- follow-up calls ---------------------------------------------------------------------------


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("to call")
    DONE = "done", _("done")


class FollowUpOutcome(models.TextChoices):
    COMPLETED = "completed", _("survey completed")
    REFUSED = "refused", _("customer declined the survey")
    WRONG_NUMBER = "wrong_number", _("wrong number")
    UNREACHABLE = "unreachable", _("unreachable after the allowed attempts")


class AttemptResult(models.TextChoices):
    NO_ANSWER = "no_answer", _("no answer")
    BUSY = "busy", _("line busy")
    POWERED_OFF = "powered_off", _("phone switched off")
    CALL_BACK = "call_back", _("customer asked to be called back")


class FollowUp(models.Model):
    """The follow-up call (回访) of one connected application."""

    application = models.OneToOneField(
        "applications.Application", verbose_name=_("application"), on_delete=models.CASCADE, related_name="followup"
    )
    # Copied at creation so queues and statistics need no join; the manager is never the caller.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="followups",
    )
    created_at = models.DateTimeField(_("created at"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    outcome = models.CharField(_("outcome"), max_length=16, choices=FollowUpOutcome.choices, blank=True)
    sat_overall = models.PositiveSmallIntegerField(_("overall satisfaction"), null=True, blank=True)
    sat_manager = models.PositiveSmallIntegerField(_("satisfaction with the customer manager"), null=True, blank=True)
    sat_timeliness = models.PositiveSmallIntegerField(_("satisfaction with timeliness"), null=True, blank=True)
    steered_design = models.BooleanField(_("steered to a design unit"), null=True, blank=True)
    steered_construction = models.BooleanField(_("steered to a construction unit"), null=True, blank=True)
    steered_supply = models.BooleanField(_("steered to an equipment supplier"), null=True, blank=True)
    extra_charge = models.BooleanField(_("extra or off-catalogue charge"), null=True, blank=True)
    extra_charge_amount = models.DecimalField(
        _("amount charged"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    extra_charge_what = models.CharField(_("what was charged"), max_length=200, blank=True)
    told_once = models.BooleanField(_("missing items told at once"), null=True, blank=True)
    comments = models.TextField(_("comments"), blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["assigned_to", "due_on"], name="followup_open_queue", condition=Q(status="open")),
            models.Index(fields=["outcome", "completed_on"], name="followup_outcome_done"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sat_overall__isnull=True) | Q(sat_overall__gte=1, sat_overall__lte=5),
                name="followup_sat_overall_range",
            ),
            models.CheckConstraint(
                condition=Q(sat_manager__isnull=True) | Q(sat_manager__gte=1, sat_manager__lte=5),
                name="followup_sat_manager_range",
            ),
            models.CheckConstraint(
                condition=Q(sat_timeliness__isnull=True) | Q(sat_timeliness__gte=1, sat_timeliness__lte=5),
                name="followup_sat_timeliness_range",
            ),
        ]
        verbose_name = _("follow-up call")
        verbose_name_plural = _("follow-up calls")

    def __str__(self) -> str:
        return f"回访 {self.application_id}"

    @property
    def steered(self) -> bool:
        return bool(self.steered_design or self.steered_construction or self.steered_supply)


class FollowUpAttempt(models.Model):
    """One call that did not reach the customer (append-only)."""

    followup = models.ForeignKey(
        FollowUp, verbose_name=_("follow-up call"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("called by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(_("result"), max_length=16, choices=AttemptResult.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["followup", "id"]
        verbose_name = _("follow-up attempt")
        verbose_name_plural = _("follow-up attempts")

    def __str__(self) -> str:
        return f"{self.followup_id}:{self.result}"


# --- customer visits ---------------------------------------------------------------------------


class VisitStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    DONE = "done", _("visited")
    CANCELLED = "cancelled", _("cancelled")


class Visit(models.Model):
    """A planned or logged visit (走访) to a customer."""

    customer_name = models.CharField(_("customer"), max_length=100)
    contact = EncryptedCharField(_("contact person and phone"), max_length=100, blank=True)
    application = models.ForeignKey(
        "applications.Application",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    key_customer = models.BooleanField(_("key customer"), default=False)
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("visitor"), on_delete=models.PROTECT, related_name="visits"
    )
    planned_on = models.DateField(_("planned for"))
    topics = models.CharField(_("topics"), max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    visited_on = models.DateField(_("visited on"), null=True, blank=True)
    raised = models.TextField(_("what the customer raised"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-key_customer", "planned_on", "id"]
        verbose_name = _("customer visit")
        verbose_name_plural = _("customer visits")

    def __str__(self) -> str:
        return f"{self.customer_name} {self.planned_on}"


class VisitAction(models.Model):
    """A follow-up action from a visit, with an owner and a due date, tracked to closure."""

    visit = models.ForeignKey(Visit, verbose_name=_("customer visit"), on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        on_delete=models.PROTECT,
        related_name="visit_actions",
    )
    due_on = models.DateField(_("due on"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution = models.CharField(_("resolution"), max_length=300, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("visit action")
        verbose_name_plural = _("visit actions")

    def __str__(self) -> str:
        return self.description
