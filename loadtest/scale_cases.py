"""What loadtest/scale asks and what the database says the answers must
be: the list requests (each path and filter, with the same question in
SQL), their pages through `after=`, and the ids each page must hold.
Python 3 standard library only; psql for the database.
"""

import os
import subprocess
import urllib.parse


class Database:
    """psql, for the facts a page is checked against (counts, ids)."""

    def __init__(self, psql, port):
        self.cmd = [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "shop"]
        # Our own counting queries are not the API's: auto_explain leaves
        # them out of the slow-statement log.
        self.env = dict(os.environ, PGOPTIONS="-c auto_explain.log_min_duration=-1")

    def rows(self, sql):
        out = subprocess.run(self.cmd + ["-c", sql], check=True, capture_output=True, text=True,
                             timeout=600, stdin=subprocess.DEVNULL, env=self.env).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def value(self, sql):
        rows = self.rows(sql)
        return rows[0][0] if rows else None


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


class Case:
    """One list request shape: path and filters, and the same question in
    SQL (`where` over `table`), which says what each page must hold."""

    def __init__(self, key, path, params, table, where, note=""):
        self.key = key          # stable across data sizes (for compare)
        self.path = path
        self.params = params
        self.table = table
        self.where = where
        self.note = note
        self.rows = 0
        self.afters = {}        # page -> after id (None: no after=)

    def label(self):
        # For reading, not for sending: `q=monitor ab` as typed.
        q = "&".join(f"{k}={v}" for k, v in self.params.items())
        return self.path + ("?" + q if q else "")

    def url(self, after, limit):
        params = dict(self.params)
        if after is not None:
            params["after"] = after
        params["limit"] = limit
        return self.path + "?" + urllib.parse.urlencode(params)


def make_cases(db):
    # The busiest user (scale-data.sql skews orders towards user 1) has
    # pages to walk; a user with exactly one order is the case of a
    # filter that finds almost nothing.
    busiest, busiest_n = db.rows("SELECT user_id, count(*) FROM orders GROUP BY user_id "
                                 "ORDER BY count(*) DESC, user_id LIMIT 1")[0]
    single = db.value("SELECT user_id FROM orders GROUP BY user_id HAVING count(*) = 1 "
                      "ORDER BY user_id DESC LIMIT 1")
    status = "shipped"
    cases = [
        Case("users", "/api/users", {}, "users", "true"),
        Case("products", "/api/products", {}, "products", "true"),
        Case("products in_stock", "/api/products", {"in_stock": "true"}, "products", "stock_quantity > 0"),
        Case("products min_price (selective)", "/api/products", {"min_price": "1900"}, "products", "price >= 1900"),
        Case("products max_price", "/api/products", {"max_price": "2"}, "products", "price <= 2"),
    ]
    for q, what in (("monitor", "common word"), ("monitor ab", "word and code"), ("zzzz", "in no name")):
        # The API's meaning of q: the name contains it, case-insensitive,
        # `%` and `_` literal.
        cases.append(Case(f"products q ({what})", "/api/products", {"q": q}, "products",
                          f"strpos(lower(name), lower({sql_text(q)})) > 0"))
    cases += [
        Case("orders", "/api/orders", {}, "orders", "true"),
        Case("orders user_id (busiest)", "/api/orders", {"user_id": busiest}, "orders",
             f"user_id = {int(busiest)}", f"busiest user, {int(busiest_n):,} orders"),
    ]
    if single:
        cases.append(Case("orders user_id (one order)", "/api/orders", {"user_id": single}, "orders",
                          f"user_id = {int(single)}", "a user with one order"))
    cases += [
        Case("orders status", "/api/orders", {"status": status}, "orders", f"status = {sql_text(status)}"),
        Case("orders status and user_id", "/api/orders", {"status": status, "user_id": busiest}, "orders",
             f"status = {sql_text(status)} AND user_id = {int(busiest)}"),
        Case("user's orders (busiest)", f"/api/users/{busiest}/orders", {}, "orders",
             f"user_id = {int(busiest)}", "busiest user"),
    ]
    if single:
        cases.append(Case("user's orders (one order)", f"/api/users/{single}/orders", {}, "orders",
                          f"user_id = {int(single)}", "a user with one order"))
    return cases


def plan_pages(db, case, limit):
    """The pages a client following `Link` would get: the first, the one
    holding the middle row, and the last (which may be short). A list of one
    page has no middle or last page of its own."""
    case.rows = int(db.value(f"SELECT count(*) FROM {case.table} WHERE {case.where}"))
    case.afters = {"first": None}
    if case.rows <= limit:
        return
    for page, start in (("middle", limit * ((case.rows // 2) // limit)),
                        ("last", limit * ((case.rows - 1) // limit))):
        if start == 0:
            continue    # the first page again (fewer than two pages of rows)
        # after = the id of the row just before the page: row `start` (1-based).
        case.afters[page] = int(db.value(f"SELECT id FROM {case.table} WHERE {case.where} "
                                         f"ORDER BY id OFFSET {start - 1} LIMIT 1"))


def expected_ids(db, case, after, limit):
    rows = db.rows(f"SELECT id FROM {case.table} WHERE {case.where} AND id > {after or 0} "
                   f"ORDER BY id LIMIT {limit + 1}")
    return [int(r[0]) for r in rows]
