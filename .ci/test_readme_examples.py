#!/usr/bin/env python3
"""Proves .ci/readme_examples.py catches a README example that does not do
what it shows, against the real runtime (RUNTIME_BIN, default
target/debug/runtime), with a small README written for the purpose:

    python3 .ci/test_readme_examples.py      (.ci/checks runs it before the check)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "readme_examples.py"

README = """# shop-api

## HTTP conventions

```sh
curl -si http://localhost:5000/api/products/1 | head -1
```

```text
HTTP/1.1 200 OK
```

```sh
curl -si http://localhost:5000/api/products/1 | head -1
```

```text
HTTP/1.1 404 Not Found
```

```sh
curl -sf http://localhost:5000/no/such/path
```

```sh
RATE_LIMIT=1/m cargo run --release -p runtime
```

```sh
for i in 1 2; do curl -s -o /dev/null -w '%{http_code} ' http://localhost:5000/api/users/1; done; echo
```

```text
200 429
```

Prose between: the next block is no output of the one before.

```text
200 200
```

## Configuration

```sh
false
```
"""


class ReadmeExamplesTest(unittest.TestCase):
    def test_wrong_output_and_failing_commands_fail_the_rest_pass(self) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="readme-examples-test-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        (tmp / "README.md").write_text(README)
        result = subprocess.run([sys.executable, str(SCRIPT), str(tmp / "README.md")],
                                capture_output=True, text=True, timeout=300)
        out = result.stdout
        self.assertEqual(result.returncode, 1, out + result.stderr)
        self.assertIn("ok:   README.md:6: 1 command(s), 1 line(s) as shown", out)
        self.assertIn("FAIL: README.md:14: it printed no line `HTTP/1.1 404 Not Found`", out)
        self.assertIn("FAIL: README.md:22: exit 22 at `curl -sf http://localhost:5000/no/such/path`", out)
        self.assertIn("started with {'RATE_LIMIT': '1/m'}", out)
        # The setting took effect ("200 429"), and only the text block right
        # under the commands is their output.
        self.assertIn("ok:   README.md:30: 1 command(s), 1 line(s) as shown", out)
        self.assertIn("2 of 5 blocks", out)  # the next section's `false` is not one of them


if __name__ == "__main__":
    unittest.main(verbosity=2)
