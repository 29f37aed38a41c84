from decimal import Decimal

from entente.logistics import selectors, services
from entente.logistics.models import LedgerEntry, OrderState

from .conftest import DAY, order_in


def test_an_order_walks_to_receipt_and_is_owed(world):
    order = order_in(world, OrderState.RECEIVED)
    assert order.state == OrderState.RECEIVED
    owed = {e.currency_id: e.amount for e in LedgerEntry.objects.filter(order=order)}
    assert owed == {"GBP": Decimal("10200.00"), "JPY": Decimal("480000")}
    services.record_payment(world.jp, order, "BACS 1234", on=DAY)
    order.refresh_from_db()
    assert order.state == OrderState.SETTLED
    [balance] = selectors.balances(world.uk, on=DAY)
    assert balance.amounts == {"GBP": Decimal("0"), "JPY": Decimal("0")}
