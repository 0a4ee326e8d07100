"""Sign-in (throttled by django-axes), password reset by e-mail with Django's own views, and personal API tokens."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from opsview.accounts import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(extra_context={"failure_limit": settings.AXES_FAILURE_LIMIT}),
        name="login",
    ),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("password_reset_complete")),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("account/tokens/", views.personal_tokens, name="personal-tokens"),
    path("account/tokens/<int:pk>/revoke/", views.revoke, name="personal-token-revoke"),
]
