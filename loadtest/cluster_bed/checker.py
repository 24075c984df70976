"""The checks, from the request log and the databases themselves, once the
load has stopped and every unknown order was retried with its key:

- every order answered 201 exists exactly once (same id, under its key);
  every order whose outcome was unknown ended in exactly one order (201 on
  retry) or none (409 on retry); no order exists that no client asked for;
- stock is conserved: initial = current + the quantities ordered, and no
  stock below zero;
- no lost update: a PATCH with a stale If-Match never succeeded, and no two
  successful PATCHes of a product carried the same If-Match;
- read-your-writes: every read with Cache-Control: no-cache after a
  successful write saw it;
- no split brain: one node out of recovery, every node on the same
  timeline, and the nodes' timeline histories agree with one another.
"""

import os
import re

from hosts import DB_HOSTS


class Result:
    def __init__(self):
        self.items = []

    def add(self, name, ok, detail):
        self.items.append({"check": name, "ok": bool(ok), "detail": detail})

    @property
    def ok(self):
        return all(i["ok"] for i in self.items)


def check_all(bed, load, products):
    r = Result()
    primary = bed.db.primary()
    if primary is None:
        r.add("a primary to check against", False, "none")
        return r
    q = lambda sql: bed.db.psql(primary, sql)  # noqa: E731
    orders_check(r, q, load)
    stock_check(r, q, products)
    lost_update_check(r, load.log.rows)
    ryw_check(r, load.log.rows)
    split_brain_check(r, bed)
    return r


def orders_check(r, q, load):
    in_db = {}
    for key, oid in q("SELECT idempotency_key, id FROM orders WHERE idempotency_key IS NOT NULL"):
        in_db.setdefault(key, []).append(int(oid))
    acked = lost = dup = wrong = 0
    resolved_one = resolved_none = unresolved = 0
    retried = {row["key"] for row in load.log.rows if row["op"] == "order-retry"}
    for key, (_body, st, oid) in load.orders.items():
        rows = in_db.get(key, [])
        dup += len(rows) > 1
        if st == 201:
            acked += 1
            lost += not rows
            wrong += bool(rows) and rows[0] != oid
            resolved_one += key in retried
        elif st == 409:
            wrong += bool(rows)
            resolved_none += key in retried
        elif st == "unknown":
            unresolved += 1
    phantom = len(set(in_db) - set(load.orders))
    r.add("acknowledged orders exist exactly once", lost == 0 and dup == 0 and wrong == 0,
          f"{acked} acknowledged, {lost} lost, {dup} duplicated, {wrong} not as answered")
    r.add("unknown outcomes resolved by retrying with the key", unresolved == 0 and phantom == 0,
          f"{resolved_one} ended in one order, {resolved_none} in none, "
          f"{unresolved} still unknown, {phantom} orders nobody asked for")


def stock_check(r, q, products):
    ids = ",".join(str(p) for p in products)
    rows = q(f"""SELECT p.id, p.stock_quantity, coalesce(sum(i.quantity), 0)
                 FROM products p LEFT JOIN order_items i ON i.product_id = p.id
                 WHERE p.id IN ({ids}) GROUP BY p.id""")
    bad, negative, sold = [], 0, 0
    for pid, current, ordered in rows:
        pid, current, ordered = int(pid), int(current), int(ordered)
        sold += ordered
        negative += current < 0
        if products[pid] != current + ordered:
            bad.append(f"product {pid}: {products[pid]} != {current} + {ordered}")
    r.add("stock conserved, never below zero", not bad and negative == 0 and len(rows) == len(products),
          f"{len(rows)} products, {sold} units ordered, oversold 0" if not bad and not negative
          else "; ".join(bad[:5]) + f"; {negative} below zero")


def lost_update_check(r, rows):
    stale_ok = sum(1 for row in rows if row["op"] == "product-stale" and row["st"] == 200)
    stale_412 = sum(1 for row in rows if row["op"] == "product-stale" and row["st"] == 412)
    seen, twice = set(), 0
    for row in rows:
        if row["op"] == "product-patch" and row["st"] == 200:
            k = (row["pid"], row["if_match"])
            twice += k in seen
            seen.add(k)
    r.add("no lost update (stale If-Match never succeeds)", stale_ok == 0 and twice == 0,
          f"{len(seen)} conditional PATCHes succeeded, {stale_412} stale ones refused with 412, "
          f"{stale_ok} stale ones succeeded, {twice} ETags written over twice")


def ryw_check(r, rows):
    ok = sum(1 for row in rows if row["op"] == "ryw" and row["st"] == "ok")
    stale = sum(1 for row in rows if row["op"] == "ryw" and row["st"] == "stale")
    r.add("read-your-writes with Cache-Control: no-cache", stale == 0 and ok > 0,
          f"{ok} reads saw their write, {stale} did not")


PROMOTION = re.compile(r"^(\S+ \S+) UTC \[\d+\] LOG:  selected new timeline ID: (\d+)", re.M)


def promotions(tmp):
    """Every promotion in the database hosts' own PostgreSQL logs:
    [(time, host, new timeline)]. Two hosts that chose the same timeline ID
    both ran as primary off the same history: a split brain, whatever the
    nodes look like afterwards (pg_rewind erases the loser's branch)."""
    found = []
    for host in DB_HOSTS:
        try:
            with open(os.path.join(tmp, host, "patroni-stdout.log"), errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        found += [(t, host, int(tl)) for t, tl in PROMOTION.findall(text)]
    return sorted(found)


def split_brain_check(r, bed):
    primaries, timelines, histories = [], {}, {}
    for host in DB_HOSTS:
        try:
            row = bed.db.psql(host, "SELECT pg_is_in_recovery()")
        except Exception as error:  # noqa: BLE001 - reported as a failed check
            r.add("no split brain", False, f"{host} did not answer: {error}")
            return
        if row[0][0] == "f":
            primaries.append(host)
        hist = bed.db.history(host)
        histories[host] = [(h[0], h[1]) for h in hist]
        timelines[host] = (hist[-1][0] + 1) if hist else 1
    longest = max(histories.values(), key=len)
    diverged = [h for h, hist in histories.items() if hist != longest[:len(hist)]]
    promoted = promotions(bed.tmp)
    chosen = [tl for _t, _h, tl in promoted]
    forks = sorted({tl for tl in chosen if chosen.count(tl) > 1})
    r.add("no split brain", len(primaries) == 1 and not diverged and not forks
          and len(set(timelines.values())) == 1,
          f"primary now {primaries}, timelines {timelines}; promotions in the logs: "
          + ", ".join(f"{h} to {tl} at {t[11:19]}" for t, h, tl in promoted)
          + f"; timelines chosen twice: {forks or 'none'}; diverged histories: {diverged or 'none'}")
