"""Firms, their people and their onboarding: what a partner (or a firm's own admin) sets up from the browser."""

from django.urls import path

from opsview.firms import invitation_views, onboarding_views, partner_views, staff_views, views

urlpatterns = [
    # Firms and people.
    path("firms/new/", views.firm_create, name="firm-create"),
    path("settings/members/", views.member_list, name="members"),
    path("settings/members/<int:pk>/role/", views.member_role, name="member-role"),
    path("settings/members/<int:pk>/remove/", views.member_remove, name="member-remove"),
    path("settings/members/<int:pk>/deactivate/", views.member_deactivate, name="member-deactivate"),
    path("settings/invitations/<int:pk>/resend/", views.invitation_resend, name="invitation-resend"),
    path("settings/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<str:token>/", invitation_views.invitation_accept, name="invitation-accept"),
    path("partner/staff/", staff_views.partner_staff, name="partner-staff"),
    path("partner/staff/<int:pk>/role/", staff_views.staff_role, name="partner-staff-role"),
    path("partner/staff/<int:pk>/remove/", staff_views.staff_remove, name="partner-staff-remove"),
    # Onboarding and the partner's brand.
    path("onboarding/", onboarding_views.onboarding_page, name="onboarding"),
    path("partner/branding/", partner_views.partner_branding, name="partner-branding"),
    path("partner/<int:pk>/logo", partner_views.partner_logo, name="partner-logo"),
    path("partner/<int:pk>/theme.css", partner_views.partner_theme, name="partner-theme"),
]
