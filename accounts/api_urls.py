from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/signup/", api.SignupView.as_view(), name="api-signup"),
    path("account/", api.AccountView.as_view(), name="api-account"),
    path("account/phone/", api.PhoneView.as_view(), name="api-account-phone"),
    path("account/phone/verify/", api.PhoneVerifyView.as_view(), name="api-account-phone-verify"),
    path("account/terms/", api.TermsAcceptView.as_view(), name="api-account-terms"),
    path("staff/ping/", api.StaffPingView.as_view(), name="api-staff-ping"),
]
