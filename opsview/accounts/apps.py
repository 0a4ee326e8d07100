from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opsview.accounts"
    label = "accounts"
    verbose_name = "Sign-in and password reset"

    def ready(self):
        from opsview.accounts import lockouts  # noqa: F401  (connects the lockout receiver)
