"""Re-encrypt the stored personal data under the active cipher and key (after PERSONAL_DATA_KEY or
PERSONAL_DATA_CIPHER changed, with the previous key kept in PERSONAL_DATA_OLD_KEYS until this has run)."""

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from infocity import crypto
from infocity.audit.models import Action
from infocity.audit.services import record


class Command(BaseCommand):
    help = "用当前配置的算法和密钥重新加密库中的全部个人信息（联系人、电话、邮箱），用于密钥轮换或更换为 SM4。"

    def handle(self, *args: Any, **options: Any) -> None:
        counts: dict[str, int] = {}
        try:
            with transaction.atomic():
                for label, names in crypto.ENCRYPTED_COLUMNS.items():
                    model = apps.get_model(label)
                    for name in names:
                        column = model._meta.get_field(name).column
                        table, pk = model._meta.db_table, model._meta.pk.column
                        counts[f"{label}.{name}"] = crypto.reseal_column(
                            connection, table, pk, column, f"{label}.{name}"
                        )
                record(Action.PERSONAL_DATA_REKEY, detail={"cipher": crypto.active_cipher(), "rewritten": counts})
        except crypto.DecryptionError as error:
            raise CommandError(f"{error} 未做任何修改。") from error
        total = sum(counts.values())
        self.stdout.write(
            f"已用 {crypto.active_cipher()}（密钥编号 {crypto.active_key_id()}）重新加密 {total} 项个人信息。"
        )
        for column, count in counts.items():
            self.stdout.write(f"  {column}: {count}")
