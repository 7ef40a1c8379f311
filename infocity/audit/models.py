"""Audit events (审计日志): who did what, to which object, from where, with what outcome."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infocity.dbfields import DocumentField


class Action(models.TextChoices):
    LOGIN_SUCCESS = "login.success", _("登录成功")
    LOGIN_FAILURE = "login.failure", _("登录失败")
    LOGIN_LOCKED = "login.locked", _("账号锁定")
    LOGOUT = "logout", _("退出登录")
    ACCOUNT_CREATE = "account.create", _("创建账号")
    ACCOUNT_UPDATE = "account.update", _("修改账号")
    ACCOUNT_DISABLE = "account.disable", _("停用账号")
    ACCOUNT_ENABLE = "account.enable", _("启用账号")
    ACCOUNT_UNLOCK = "account.unlock", _("解除锁定")
    PASSWORD_RESET = "password.reset", _("重置密码")
    PASSWORD_CHANGE = "password.change", _("修改密码")
    ROLE_ASSIGN = "role.assign", _("分配角色")
    ORGANISATION_CREATE = "organisation.create", _("创建机构")
    ORGANISATION_UPDATE = "organisation.update", _("修改机构")
    COHORT_CREATE = "cohort.create", _("创建城市批次")
    COHORT_MEMBERS = "cohort.members", _("调整批次城市")
    ACCESS_DENIED = "access.denied", _("越权访问")
    FRAMEWORK_CREATE = "framework.create", _("创建指标体系版本")
    FRAMEWORK_EDIT = "framework.edit", _("修改指标体系")
    FRAMEWORK_PUBLISH = "framework.publish", _("发布指标体系版本")
    FRAMEWORK_RETIRE = "framework.retire", _("停用指标体系版本")
    FRAMEWORK_EXPORT = "framework.export", _("导出指标体系")
    CYCLE_CREATE = "cycle.create", _("创建填报周期")
    CYCLE_UPDATE = "cycle.update", _("修改填报周期")
    SUBMISSION_SAVE = "submission.save", _("保存填报")
    SUBMISSION_APPROVE_CITY = "submission.approve_city", _("本市审核通过")
    SUBMISSION_SUBMIT = "submission.submit", _("报送省级")
    SUBMISSION_APPROVE_PROVINCE = "submission.approve_province", _("省级审核通过")
    SUBMISSION_ACCEPT = "submission.accept", _("受理报送")
    SUBMISSION_RETURN = "submission.return", _("退回报送")
    SUBMISSION_EXTEND = "submission.extend", _("批准延期")
    UNLOCK_REQUEST = "unlock.request", _("申请解锁")
    UNLOCK_DECIDE = "unlock.decide", _("处理解锁申请")
    REPORT_EXPORT = "report.export", _("导出报表")
    REPORT_GENERATE = "report.generate", _("生成监测分析报告")
    OUTLIER_REVIEW = "outlier.review", _("处理异常值")
    TOKEN_ISSUE = "token.issue", _("创建 API 令牌")
    TOKEN_REVOKE = "token.revoke", _("撤销 API 令牌")
    BULK_CHECK = "bulk.check", _("上传检查批量数据")
    BULK_IMPORT = "bulk.import", _("批量导入数据")
    ATTACHMENT_ADD = "attachment.add", _("上传附件")
    ATTACHMENT_REMOVE = "attachment.remove", _("删除附件")
    ATTACHMENT_DOWNLOAD = "attachment.download", _("下载附件")
    APPLICATION_SAVE = "application.save", _("保存典型应用")
    APPLICATION_ENDORSE = "application.endorse", _("确认典型应用")
    APPLICATION_DELETE = "application.delete", _("删除典型应用")
    SCHEME_SAVE = "scheme.save", _("保存评估方案")
    SCHEME_SUBMIT = "scheme.submit", _("提交评估方案审批")
    SCHEME_APPROVE = "scheme.approve", _("批准评估方案")
    SCHEME_RETURN = "scheme.return", _("退回评估方案")
    REVIEW_ROUND = "review.round", _("设置专家评审轮次")
    REVIEW_ASSIGN = "review.assign", _("分配评审任务")
    REVIEW_UNASSIGN = "review.unassign", _("撤销评审任务")
    REVIEW_SCORE = "review.score", _("专家评分")
    REVIEW_CLOSE = "review.close", _("结束专家评审")
    EVALUATION_RUN = "evaluation.run", _("运行年度评估")
    EVALUATION_REPRODUCE = "evaluation.reproduce", _("复算评估结果")
    ACCEPTANCE_DECIDE = "acceptance.decide", _("作出验收结论")
    AWARD_PROPOSE = "award.propose", _("生成表彰建议")
    AWARD_CONFIRM = "award.confirm", _("确认表彰名单")
    EVALUATION_PUBLISH = "evaluation.publish", _("发布评估结果")
    CERTIFICATE_DOWNLOAD = "certificate.download", _("下载表彰证书")
    RELEASE_PUBLISH = "release.publish", _("发布监测数据")
    RELEASE_WITHDRAW = "release.withdraw", _("撤回监测数据发布")
    SHOWCASE_PUBLISH = "showcase.publish", _("发布典型案例")
    SHOWCASE_WITHDRAW = "showcase.withdraw", _("撤回典型案例")
    BOARD_POST_SAVE = "board.save", _("保存供需信息")
    BOARD_POST_MODERATE = "board.moderate", _("审核供需信息")
    BOARD_POST_CLOSE = "board.close", _("关闭供需信息")
    CONTACT_REQUEST = "contact.request", _("申请对接联系方式")
    CONTACT_DECIDE = "contact.decide", _("答复对接申请")
    CONTACT_VIEW = "contact.view", _("查看对接联系方式")
    AUDIT_PURGE = "audit.purge", _("清理过期审计日志")
    OTP_ENROL = "otp.enrol", _("启用二次验证")
    OTP_VERIFY = "otp.verify", _("二次验证")
    OTP_RESET = "otp.reset", _("重置二次验证")
    DEMO_LOAD = "demo.load", _("载入演示数据")
    SESSIONS_END = "sessions.end", _("结束用户会话")
    AUDIT_EXPORT = "audit.export", _("导出审计日志")
    PERSONAL_DATA_EXPORT = "personal.export", _("导出个人信息")
    BACKUP_CREATE = "backup.create", _("备份数据库")
    BACKUP_RESTORE = "backup.restore", _("恢复数据库")
    PERSONAL_DATA_REKEY = "personal.rekey", _("轮换个人信息加密密钥")


class Outcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("审计日志只能追加，不能修改。")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("审计日志只能追加，不能删除。")


class AuditEvent(models.Model):
    """One audited event. Rows are only ever inserted: updates and deletes through the ORM are refused."""

    occurred_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Copied at the time of the event so the record stays readable whatever happens to the account later,
    # and so failed logins for unknown user names are recorded too.
    actor_username = models.CharField(_("用户名"), max_length=150, blank=True)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    action = models.CharField(_("操作"), max_length=40, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=60, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=60, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    detail = DocumentField(_("详情"), default=dict, blank=True)
    # HMAC-SHA256 of the fields above under the audit key (not stored in the database): an edit made directly in
    # the database cannot produce a matching digest (see infocity.audit.integrity).
    digest = models.CharField(max_length=64, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["actor", "occurred_at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("审计日志只能追加，不能修改。")
        from .integrity import digest_of

        self.digest = digest_of(self)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("审计日志只能追加，不能删除。")


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("审计日志的链记录只能追加，不能修改。")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("审计日志的链记录只能追加，不能删除。")


class AuditSeal(models.Model):
    """The hash chain over the audit log: events are sealed in the order of these rows, each ``chain`` being
    SHA-256 of the previous seal's chain and the event's digest. Deleting, inserting or reordering sealed events
    breaks the chain from that point on."""

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    chain = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.pk}:{self.chain[:12]}"


class AuditCheckpoint(models.Model):
    """Where verification starts after a purge of events past their retention: the chain value of the last
    purged seal, so the remaining chain still verifies."""

    created_at = models.DateTimeField(default=timezone.now)
    last_seal_id = models.BigIntegerField()
    chain = models.CharField(max_length=64)
    purged = models.PositiveIntegerField()
    before = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"checkpoint {self.last_seal_id}"
