"""What synchronous replication costs an order: pgbench runs an order's
statements (stock down, the order, its item, in one transaction) against
the primary from the load host, once with synchronous_commit=on (the bed's
setting: the commit waits for the synchronous standby's flush) and once
with synchronous_commit=local (the commit waits for the primary's own disk
only), at the same concurrency. Run after the checks: its orders carry no
Idempotency-Key and use a product of their own.
"""

import os
import re
import subprocess

from database import PG_BIN
from hosts import addr

SCRIPT = """\
BEGIN;
UPDATE products SET stock_quantity = stock_quantity - 1 WHERE id = {pid};
INSERT INTO orders (user_id, total_amount) VALUES ({uid}, 1) RETURNING id \\gset
INSERT INTO order_items (order_id, product_id, quantity, price) VALUES (:id, {pid}, 1, 1);
COMMIT;
"""


def measure(bed, tmp, seconds=10, clients=4):
    primary = bed.db.primary()
    pid = bed.db.psql(primary, "INSERT INTO products (name, price, stock_quantity) "
                               "VALUES ('bed-cost', 1, 1000000000) RETURNING id")[0][0]
    uid = bed.db.psql(primary, "INSERT INTO users (username, email) "
                               "VALUES ('bedcost', 'bedcost@bed.test') RETURNING id")[0][0]
    path = os.path.join(tmp, "order.sql")
    with open(path, "w") as f:
        f.write(SCRIPT.format(pid=pid, uid=uid))
    out = {}
    for mode in ("on", "local"):
        env = dict(os.environ, PGOPTIONS=f"-c synchronous_commit={mode}")
        run = subprocess.run([f"{PG_BIN}/pgbench", "-n", "-h", addr(primary), "-U", "postgres",
                              "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", path,
                              "shop"], env=env, capture_output=True, text=True,
                             timeout=seconds + 60, check=True)
        lat = re.search(r"latency average = ([\d.]+) ms", run.stdout)
        tps = re.search(r"tps = ([\d.]+)", run.stdout)
        out[mode] = {"latency_ms": float(lat.group(1)) if lat else None,
                     "tps": float(tps.group(1)) if tps else None}
    return {"clients": clients, "seconds": seconds, "primary": primary, **out}
