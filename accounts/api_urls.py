from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/signup/", api.SignupView.as_view(), name="api-signup"),
    path("account/", api.AccountView.as_view(), name="api-account"),
    path("account/phone/", api.PhoneView.as_view(), name="api-account-phone"),
    path("account/phone/verify/", api.PhoneVerifyView.as_view(), name="api-account-phone-verify"),
    path("account/email/verify/", api.EmailVerifyView.as_view(), name="api-account-email-verify"),
    path("account/email/resend/", api.EmailResendView.as_view(), name="api-account-email-resend"),
    path("account/mfa/totp/", api.TOTPView.as_view(), name="api-account-mfa-totp"),
    path(
        "account/mfa/totp/activate/",
        api.TOTPActivateView.as_view(),
        name="api-account-mfa-totp-activate",
    ),
    path("account/terms/", api.TermsAcceptView.as_view(), name="api-account-terms"),
    path("staff/ping/", api.StaffPingView.as_view(), name="api-staff-ping"),
]
