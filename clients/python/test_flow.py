"""The whole HTTP contract, driven through the Python client that
openapi-python-client generated from the running server's /openapi.json.

Run by clients/python/check, which generates the package `shop_client`,
type-checks it and this file with mypy --strict, and points SHOP_URL at a
runtime whose `health` function has a rate limit of its own (for the 429).
Every test makes the rows it changes, so the order of the tests matters only
for the rate limit, which runs last.
"""

from __future__ import annotations

import os
import re
import uuid
from http import HTTPStatus
from typing import Any, TypeVar

import pytest

from shop_client import Client
from shop_client.api.orders import (
    orders_create,
    orders_get,
    orders_get_head,
    orders_list,
    orders_list_head,
    orders_update,
)
from shop_client.api.products import (
    products_create,
    products_delete,
    products_get,
    products_get_head,
    products_list,
    products_list_head,
    products_update,
    products_update_put,
)
from shop_client.api.service import (
    db_check,
    db_check_head,
    health,
    health_head,
    index,
    index_head,
    metrics,
    metrics_head,
    openapi_json,
    openapi_json_head,
    openapi_yaml,
    openapi_yaml_head,
)
from shop_client.api.users import (
    users_create,
    users_delete,
    users_get,
    users_get_head,
    users_list,
    users_list_head,
    users_orders,
    users_orders_head,
    users_update,
    users_update_put,
)
from shop_client.models import (
    DbCheck,
    Health,
    NewOrder,
    NewOrderItem,
    NewProduct,
    NewUser,
    OpenApiDocument,
    Order,
    OrderStatus,
    OrderStatusChange,
    Problem,
    Product,
    ProductChanges,
    ServiceInfo,
    User,
    UserChanges,
    ValidationProblem,
)
from shop_client.types import Response

T = TypeVar("T")


@pytest.fixture(scope="module")
def client() -> Client:
    return Client(base_url=os.environ["SHOP_URL"], raise_on_unexpected_status=True)


def parsed(response: Response[Any], status: int, kind: type[T]) -> T:
    """The typed body of a response of this status, or a failed test."""
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, kind), response.parsed
    return response.parsed


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_user(client: Client) -> tuple[User, str]:
    name = unique("py")
    created = users_create.sync_detailed(client=client, body=NewUser(username=name, email=f"{name}@example.com"))
    return parsed(created, 201, User), created.headers["etag"]


def new_product(client: Client, stock: int) -> Product:
    body = NewProduct(name=unique("py-product"), price="12.50", stock_quantity=stock)
    return parsed(products_create.sync_detailed(client=client, body=body), 201, Product)


def test_service_operations(client: Client) -> None:
    info = parsed(index.sync_detailed(client=client), 200, ServiceInfo)
    assert len(info.routes) == 36 and info.openapi.json.value == "/openapi.json"
    assert parsed(health.sync_detailed(client=client), 200, Health).status.value == "healthy"
    assert parsed(db_check.sync_detailed(client=client), 200, DbCheck).database.value == "connected"
    assert "# TYPE " in parsed(metrics.sync_detailed(client=client), 200, str)
    document = openapi_json.sync_detailed(client=client)
    assert parsed(document, 200, OpenApiDocument).openapi.value == "3.0.3"
    tag = document.headers["etag"]
    assert openapi_json.sync_detailed(client=client, if_none_match=tag).status_code == HTTPStatus.NOT_MODIFIED
    assert parsed(openapi_yaml.sync_detailed(client=client), 200, str).startswith("#")
    for head in (index_head, health_head, db_check_head, metrics_head, openapi_json_head, openapi_yaml_head):
        answer = head.sync_detailed(client=client)
        assert answer.status_code == 200 and answer.content == b"", head.__name__


def test_user_lifecycle(client: Client) -> None:
    user, tag = new_user(client)
    got = users_get.sync_detailed(user.id, client=client)
    assert parsed(got, 200, User) == user and got.headers["etag"] == tag
    assert users_get.sync_detailed(user.id, client=client, if_none_match=tag).status_code == 304
    head = users_get_head.sync_detailed(user.id, client=client, if_none_match=tag)
    assert head.status_code == 304 and head.headers["etag"] == tag
    renamed = unique("py-renamed")
    put = users_update_put.sync_detailed(user.id, client=client, body=UserChanges(username=renamed), if_match=tag)
    assert parsed(put, 200, User).username == renamed
    # The tag the PUT replaced is stale now: 412, typed, with the current tag.
    stale = users_update.sync_detailed(user.id, client=client, body=UserChanges(email="x@example.com"), if_match=tag)
    assert parsed(stale, 412, Problem).status == 412
    assert stale.headers["etag"] == put.headers["etag"]
    patched = users_update.sync_detailed(
        user.id, client=client, body=UserChanges(email=f"{renamed}@example.org"), if_match="*"
    )
    assert parsed(patched, 200, User).email == f"{renamed}@example.org"
    assert parsed(users_orders.sync_detailed(user.id, client=client), 200, list) == []
    assert users_orders_head.sync_detailed(user.id, client=client).status_code == 200
    assert users_delete.sync_detailed(user.id, client=client, if_match=tag).status_code == 412
    assert users_delete.sync_detailed(user.id, client=client, if_match=patched.headers["etag"]).status_code == 204
    assert parsed(users_get.sync_detailed(user.id, client=client), 404, Problem).title == "Not Found"


def test_product_lifecycle(client: Client) -> None:
    product = new_product(client, stock=5)
    assert product.price == 12.5 and product.description is None
    got = products_get.sync_detailed(product.id, client=client)
    tag = got.headers["etag"]
    assert parsed(got, 200, Product) == product
    assert products_get_head.sync_detailed(product.id, client=client, if_none_match=tag).status_code == 304
    put = products_update_put.sync_detailed(
        product.id, client=client, body=ProductChanges(description="described", price=20), if_match=tag
    )
    assert parsed(put, 200, Product).description == "described"
    cleared = products_update.sync_detailed(product.id, client=client, body=ProductChanges(description=None))
    changed = parsed(cleared, 200, Product)
    assert changed.description is None and changed.price == 20
    found = products_list.sync_detailed(client=client, q=product.name, min_price="19.99", in_stock=True)
    assert [p.id for p in parsed(found, 200, list)] == [product.id]
    assert products_list_head.sync_detailed(client=client, q=product.name).status_code == 200
    stale = products_delete.sync_detailed(product.id, client=client, if_match=tag)
    assert parsed(stale, 412, Problem).detail
    assert products_delete.sync_detailed(product.id, client=client).status_code == 204


def test_order_lifecycle_and_oversell(client: Client) -> None:
    user, _ = new_user(client)
    product = new_product(client, stock=3)
    body = NewOrder(user_id=user.id, items=[NewOrderItem(product_id=product.id, quantity=2)])
    key = unique("key")
    created = orders_create.sync_detailed(client=client, body=body, idempotency_key=key)
    order = parsed(created, 201, Order)
    assert order.total_amount == 25.0 and order.status == OrderStatus.PENDING
    replayed = orders_create.sync_detailed(client=client, body=body, idempotency_key=key)
    assert parsed(replayed, 201, Order).id == order.id and replayed.headers["idempotent-replayed"] == "true"
    # One left in stock: two more is 409, and nothing is taken.
    oversell = orders_create.sync_detailed(client=client, body=body)
    assert parsed(oversell, 409, Problem).status == 409
    assert parsed(products_get.sync_detailed(product.id, client=client), 200, Product).stock_quantity == 1
    got = orders_get.sync_detailed(order.id, client=client)
    tag = got.headers["etag"]
    assert orders_get.sync_detailed(order.id, client=client, if_none_match=tag).status_code == 304
    assert orders_get_head.sync_detailed(order.id, client=client).status_code == 200
    mine = parsed(orders_list.sync_detailed(client=client, user_id=user.id), 200, list)
    assert [o.id for o in mine] == [order.id]
    pending = orders_list.sync_detailed(client=client, user_id=user.id, status=OrderStatus.PENDING)
    assert len(parsed(pending, 200, list)) == 1
    assert orders_list_head.sync_detailed(client=client).status_code == 200
    change = OrderStatusChange(status=OrderStatus.CONFIRMED)
    confirmed = orders_update.sync_detailed(order.id, client=client, body=change, if_match=tag)
    assert parsed(confirmed, 200, Order).status == OrderStatus.CONFIRMED
    assert orders_update.sync_detailed(order.id, client=client, body=change, if_match=tag).status_code == 412
    back = orders_update.sync_detailed(order.id, client=client, body=OrderStatusChange(status=OrderStatus.PENDING))
    assert parsed(back, 409, Problem).title == "Conflict"


def test_unprocessable_names_the_field(client: Client) -> None:
    bad = users_create.sync_detailed(client=client, body=NewUser(username=unique("py"), email="not-an-email"))
    problem = parsed(bad, 422, ValidationProblem)
    assert problem.status == 422 and [error.field for error in problem.errors] == ["email"]
    unknown = NewOrder(user_id=9_000_000_000, items=[NewOrderItem(product_id=1, quantity=1)])
    problem = parsed(orders_create.sync_detailed(client=client, body=unknown), 422, ValidationProblem)
    assert problem.errors[0].field == "user_id"


def test_pagination_by_link_and_after(client: Client) -> None:
    for _ in range(3):
        new_user(client)
    everyone = [user.id for user in parsed(users_list.sync_detailed(client=client, limit=1000), 200, list)]
    seen: list[int] = []
    after = 0
    for _ in range(len(everyone) + 1):
        page = users_list.sync_detailed(client=client, limit=2, after=after)
        seen += [user.id for user in parsed(page, 200, list)]
        link = page.headers.get("link")
        if link is None:
            break
        match = re.fullmatch(r'<[^>]*[?&]limit=2&after=([0-9]+)>; rel="next"', link)
        assert match, link
        after = int(match.group(1))
    assert seen == everyone and len(seen) >= 6


def test_rate_limit_is_a_typed_429(client: Client) -> None:
    # `health` has its own small quota (clients/python/check); spend it.
    for _ in range(20):
        answer = health.sync_detailed(client=client)
        if answer.status_code == 429:
            break
    problem = parsed(answer, 429, Problem)
    assert problem.title == "Too Many Requests"
    assert int(answer.headers["retry-after"]) >= 0
    assert answer.headers["ratelimit-policy"].startswith('"health";')
