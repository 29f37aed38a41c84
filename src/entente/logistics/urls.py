from django.urls import path

from entente.logistics import views

app_name = "logistics"
urlpatterns = [
    path("logistics/", views.order_list, name="orders"),
    path("logistics/orders/new/", views.order_create, name="order_new"),
    path("logistics/orders/overdue/", views.overdue, name="overdue"),
    path("logistics/orders/<str:key>/", views.order_detail, name="order"),
    path("logistics/orders/<str:key>/edit/", views.order_edit, name="order_edit"),
    path("logistics/orders/<str:key>/<slug:action>/", views.order_action, name="order_action"),
    path("logistics/balances/", views.balances, name="balances"),
    path("logistics/ageing/", views.ageing, name="ageing"),
    path("logistics/reconciliation/", views.reconciliation, name="reconciliation"),
    path("logistics/statement/", views.statement, name="statement"),
    path("logistics/statement.csv", views.statement_csv, name="statement_csv"),
    path("logistics/statement.pdf", views.statement_pdf, name="statement_pdf"),
    path("logistics/rates/", views.rates, name="rates"),
]
