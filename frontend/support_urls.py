from django.urls import path

from frontend import support_views

app_name = "support"

urlpatterns = [
    path("staff/cases/", support_views.case_queue, name="cases"),
    path("staff/cases/<int:case_id>/", support_views.case_page, name="case"),
    path("staff/cases/<int:case_id>/notes/", support_views.case_note, name="case-note"),
    path("staff/cases/<int:case_id>/close/", support_views.case_close, name="case-close"),
    path("staff/cases/<int:case_id>/hide/", support_views.case_hide, name="case-hide"),
    path("staff/cases/<int:case_id>/action/", support_views.case_action, name="case-action"),
    path("staff/cases/<int:case_id>/reply/", support_views.case_reply, name="case-reply"),
    path("staff/cases/<int:case_id>/decide/", support_views.case_decide, name="case-decide"),
    path("staff/appeals/", support_views.appeals, name="appeals"),
    path(
        "staff/appeals/<int:appeal_id>/decision/",
        support_views.appeal_decide,
        name="appeal-decision",
    ),
    path("account/standing/", support_views.standing, name="standing"),
    path("account/standing/<int:action_id>/appeal/", support_views.appeal, name="appeal"),
    path("account/banned/appeal/", support_views.ban_appeal, name="ban-appeal"),
    path("account/data/", support_views.my_data, name="my-data"),
    path("help/", support_views.help_page, name="help"),
]
