"""The message templates seeded by the data migration (administrators edit them in the admin).

(code, audience, channels, title, body, when). Bodies are Django templates rendered from plain
values only; unknown variables render empty. SMS texts carry the company's signature.
"""

from __future__ import annotations

SIGN = "【阳光业扩】"

DEFAULT_TEMPLATES: list[tuple[str, str, str, str, str, str]] = [
    # --- customers (SMS) ---
    (
        "accepted",
        "customer",
        "sms",
        "申请已受理",
        SIGN + "{{ customer_name }}您好，您的用电申请已受理，申请编号{{ number }}。"
        "客户经理{{ manager_name }}（电话{{ manager_phone }}）为您服务。承诺时限：{{ limits }}。"
        "进度查询或投诉请致电{{ hotline }}。",
        "intake",
    ),
    (
        "stage_completed",
        "customer",
        "sms",
        "环节已完成",
        SIGN + "您的申请{{ number }}已完成“{{ stage_name }}”环节"
        "{% if next_stage_name %}，下一环节：{{ next_stage_name }}{% if next_deadline %}，"
        "预计{{ next_deadline }}前完成{% endif %}{% endif %}。",
        "a stage completed",
    ),
    (
        "paused",
        "customer",
        "sms",
        "申请暂停办理",
        SIGN + "您的申请{{ number }}已暂停办理，原因：{{ reason }}。"
        "如认为暂停原因不在您，可在进度查询页面提出申诉或致电{{ hotline }}。",
        "the application was paused",
    ),
    (
        "resumed",
        "customer",
        "sms",
        "申请恢复办理",
        SIGN + "您的申请{{ number }}已恢复办理{% if stage_name %}（{{ stage_name }}）{% endif %}"
        "{% if deadline %}，本环节办结期限{{ deadline }}{% endif %}。",
        "the application was resumed",
    ),
    (
        "manager_changed",
        "customer",
        "sms",
        "客户经理变更",
        SIGN + "您的申请{{ number }}已改由客户经理{{ manager_name }}"
        "{% if manager_phone %}（电话{{ manager_phone }}）{% endif %}负责办理，进度与时限不变。"
        "如有疑问请致电{{ hotline }}。",
        "the application was reassigned to another customer manager",
    ),
    (
        "defects",
        "customer",
        "sms",
        "一次性告知：需整改事项",
        SIGN + "您的申请{{ number }}在“{{ stage_name }}”中发现以下问题，现一次性告知：{{ defects }}。"
        "整改完成后请联系客户经理{{ manager_name }}（电话{{ manager_phone }}）。",
        "a review or inspection failed",
    ),
    (
        "connected",
        "customer",
        "sms",
        "已装表接电",
        SIGN + "您的申请{{ number }}已完成装表接电，正式通电。感谢您的信任，"
        "近期我们将回访，请对我们的服务作出评价。监督电话{{ hotline }}。",
        "the connection stage completed",
    ),
    (
        "followup_coming",
        "customer",
        "sms",
        "回访提醒",
        SIGN + "您的申请{{ number }}已办结，近期我们将致电回访，请留意接听。监督电话{{ hotline }}。",
        "a follow-up call is planned",
    ),
    (
        "verification_code",
        "customer",
        "sms",
        "验证码",
        SIGN + "您的验证码为{{ code }}，{{ minutes|default:'5' }}分钟内有效，请勿告知他人。",
        "a one-time code",
    ),
    # --- staff (inbox, plus SMS/e-mail when urgent) ---
    (
        "assigned",
        "staff",
        "inbox,email",
        "新分派的申请",
        "申请{{ number }}（{{ customer_name }}，{{ address }}）已分派给您"
        "{% if reason %}，原因：{{ reason }}{% endif %}。",
        "an application was assigned to a customer manager",
    ),
    (
        "lookup_locked",
        "staff",
        "inbox",
        "进度查询已锁定",
        "申请{{ number }}的进度查询连续{{ misses }}次输入了错误的手机尾号，已锁定{{ minutes }}分钟。"
        "如客户本人无法查询，请主动联系客户；如非客户所为，请留意是否有人试图获取该申请的信息。",
        "wrong phone endings locked the public progress look-up of an application",
    ),
    (
        "due_soon",
        "staff",
        "inbox,sms,email",
        "时限预警",
        "预警：申请{{ number }}“{{ stage_name }}”环节剩余{{ days }}个工作日，办结期限{{ deadline }}。",
        "a stage is close to its limit",
    ),
    (
        "due_today",
        "staff",
        "inbox,sms,email",
        "今天到期",
        "提醒：申请{{ number }}“{{ stage_name }}”环节今天（{{ deadline }}）到期，请及时办结。",
        "a stage is due today",
    ),
    (
        "overdue",
        "staff",
        "inbox,sms,email",
        "已超期",
        "超期：申请{{ number }}“{{ stage_name }}”环节已超期{{ days }}个工作日（期限{{ deadline }}），请立即办理。",
        "a stage passed its limit",
    ),
    (
        "escalated",
        "staff",
        "inbox,sms,email",
        "超期升级督办",
        "督办：申请{{ number }}“{{ stage_name }}”环节已超期{{ days }}个工作日（期限{{ deadline }}），"
        "客户经理{{ manager_name }}，请督促办理。",
        "an overdue stage was escalated",
    ),
    (
        "supervision_digest",
        "staff",
        "inbox,email",
        "挂牌督办周报",
        "本周挂牌督办项目{{ count }}个，其中超期{{ overdue_count }}个。{{ text }}",
        "weekly digest of supervised projects",
    ),
    (
        "case_opened",
        "staff",
        "inbox,email",
        "新工单",
        "新工单{{ tracking_number }}：{{ subject }}{% if due_on %}，请于{{ due_on }}前办结{% endif %}。",
        "a supervision case was opened",
    ),
    (
        "followup_assigned",
        "staff",
        "inbox",
        "回访任务",
        "回访任务：申请{{ number }}（{{ customer_name }}）{% if due_on %}请于{{ due_on }}前{% endif %}完成回访。",
        "a follow-up call was assigned",
    ),
    (
        "elimination_warning",
        "staff",
        "inbox,email",
        "末位预警",
        "末位预警：{{ text }}",
        "a customer manager is at risk in the evaluation",
    ),
    (
        "report_ready",
        "staff",
        "inbox",
        "报告已生成",
        "{{ title }}已生成{% if url %}，请登录查看：{{ url }}{% endif %}。",
        "a report was generated",
    ),
    ("message", "staff", "inbox", "通知", "{{ text }}", "anything else"),
]
